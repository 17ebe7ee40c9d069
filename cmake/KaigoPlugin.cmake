# kaigo_add_plugin(NAME SOURCES a.cc ... [PROTOS x.proto ...] [LIBS extra...])
#
# Builds a plugin as a MODULE library NAME.so that exports only kaigo_plugin_entry. PROTOS are the
# plugin's own .proto files (relative to the current source dir); they may import kaigo/v1/*.proto.
# Used in this tree and, installed with the SDK, by vendors (find_package(KaigoSDK)).
# Expects: target KaigoSDK::sdk, protobuf::protoc, and KAIGO_SDK_PROTO_DIR (the kaigo .proto root).
function(kaigo_add_plugin NAME)
  cmake_parse_arguments(K "" "" "SOURCES;PROTOS;LIBS" ${ARGN})
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/${NAME}_gen)
  file(MAKE_DIRECTORY ${gen})
  set(proto_srcs)
  foreach(p ${K_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${p})
    add_custom_command(OUTPUT ${gen}/${base}.pb.cc ${gen}/${base}.pb.h
      COMMAND protobuf::protoc --cpp_out=${gen} -I${CMAKE_CURRENT_SOURCE_DIR}
              -I${KAIGO_SDK_PROTO_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/${p}
      DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${p} VERBATIM)
    list(APPEND proto_srcs ${gen}/${base}.pb.cc)
  endforeach()
  add_library(${NAME} MODULE ${K_SOURCES} ${proto_srcs})
  target_include_directories(${NAME} PRIVATE ${gen} ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${NAME} PRIVATE KaigoSDK::sdk ${K_LIBS})
  set_target_properties(${NAME} PROPERTIES PREFIX "" CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(KAIGO_PLUGIN_OUTPUT_DIR)
    set_target_properties(${NAME} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${KAIGO_PLUGIN_OUTPUT_DIR})
  endif()
  # A plugin must resolve every symbol at build time, not at dlopen in the engine.
  target_link_options(${NAME} PRIVATE -Wl,--no-undefined)
  # Every plugin the build defines, for what needs them all built (the cross-component tests).
  set_property(GLOBAL APPEND PROPERTY KAIGO_PLUGIN_TARGETS ${NAME})
endfunction()
