# cmake -DIN=file.bin -DOUT=file.c -DNAME=symbol -P embed.cmake : a binary file as a C array.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" length)
math(EXPR size "${length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "#include <stddef.h>\n#include <stdint.h>\nconst uint8_t ${NAME}[] = {${bytes}0};\nconst size_t ${NAME}_size = ${size};\n")
