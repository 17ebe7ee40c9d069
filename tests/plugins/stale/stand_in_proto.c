/* A stand-in for libkaigo_proto of API release 0.9 (SONAME libkaigo_proto.so.0.9): only its
 * name matters to the tests, which never load it. */
int kaigo_proto_stand_in(void);
int kaigo_proto_stand_in(void) { return 0; }
