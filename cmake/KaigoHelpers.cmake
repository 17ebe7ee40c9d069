# Small helpers so every module's build file lists its sources and dependencies the same way
# (in the spirit of absl_cc_library).

# kaigo_cc_library(NAME SRCS a.cc b.cc DEPS x y)
function(kaigo_cc_library NAME)
  cmake_parse_arguments(K "" "" "SRCS;DEPS" ${ARGN})
  add_library(${NAME} STATIC ${K_SRCS})
  target_include_directories(${NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${NAME} PUBLIC ${K_DEPS})
endfunction()

# The environment every test binary runs in: where the build, the sources and the plugins are.
function(kaigo_test_environment OUT)
  set(${OUT} "KAIGO_BUILD_DIR=${PROJECT_BINARY_DIR};KAIGO_SOURCE_DIR=${PROJECT_SOURCE_DIR};KAIGO_PLUGIN_DIR=${KAIGO_PLUGIN_OUTPUT_DIR}" PARENT_SCOPE)
endfunction()

# kaigo_cc_test(NAME SRCS a_test.cc DEPS x y [LABELS l] [CASES a b …])
# With CASES, each gtest case named there (any suite) is its own ctest entry NAME.CASE instead of
# one entry for the binary.
function(kaigo_cc_test NAME)
  if(NOT KAIGO_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(K "" "TIMEOUT" "SRCS;DEPS;LABELS;CASES" ${ARGN})
  add_executable(${NAME} ${K_SRCS})
  target_include_directories(${NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${NAME} PRIVATE ${K_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
  set(tests ${NAME})
  if(K_CASES)
    set(tests "")
    foreach(case ${K_CASES})
      add_test(NAME ${NAME}.${case} COMMAND ${NAME} --gtest_filter=*.${case})
      list(APPEND tests ${NAME}.${case})
    endforeach()
  else()
    add_test(NAME ${NAME} COMMAND ${NAME})
  endif()
  if(NOT K_TIMEOUT)
    set(K_TIMEOUT 300)
  endif()
  kaigo_test_environment(environment)
  set_tests_properties(${tests} PROPERTIES TIMEOUT ${K_TIMEOUT} ENVIRONMENT "${environment}")
  if(K_LABELS)
    set_tests_properties(${tests} PROPERTIES LABELS "${K_LABELS}")
  endif()
endfunction()

# kaigo_test_at_offset(NAME OFFSET): the test binary NAME once more as NAME_at_OFFSET, with the
# test clock (engines and sandboxes it starts, and the dates it expects) moved by OFFSET
# (KAIGO_TEST_CLOCK_OFFSET, e.g. 9600h).
function(kaigo_test_at_offset NAME OFFSET)
  if(NOT TARGET ${NAME})
    return()
  endif()
  add_test(NAME ${NAME}_at_${OFFSET} COMMAND ${NAME})
  kaigo_test_environment(environment)
  set_tests_properties(${NAME}_at_${OFFSET} PROPERTIES TIMEOUT 300 LABELS moved_clock
    ENVIRONMENT "${environment};KAIGO_TEST_CLOCK_OFFSET=${OFFSET}")
endfunction()

# kaigo_generate_protos(OUT_SRCS OUT_HDRS ROOT dir PROTOS a.proto ... [IMPORT_DIRS d...] [GRPC])
# Runs protoc (and grpc_cpp_plugin with GRPC) into ${CMAKE_CURRENT_BINARY_DIR}/gen.
function(kaigo_generate_protos OUT_SRCS OUT_HDRS)
  cmake_parse_arguments(K "GRPC" "ROOT" "PROTOS;IMPORT_DIRS" ${ARGN})
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${gen})
  set(includes -I${K_ROOT})
  foreach(d ${K_IMPORT_DIRS})
    list(APPEND includes -I${d})
  endforeach()
  set(srcs)
  set(hdrs)
  foreach(p ${K_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${p})
    set(outs ${gen}/${base}.pb.cc ${gen}/${base}.pb.h)
    set(args --cpp_out=${gen})
    if(K_GRPC)
      list(APPEND outs ${gen}/${base}.grpc.pb.cc ${gen}/${base}.grpc.pb.h)
      list(APPEND args --grpc_out=${gen} --plugin=protoc-gen-grpc=${KAIGO_GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(OUTPUT ${outs}
      COMMAND protobuf::protoc ${args} ${includes} ${K_ROOT}/${p}
      DEPENDS ${K_ROOT}/${p} protobuf::protoc
      COMMENT "protoc ${p}" VERBATIM)
    list(APPEND srcs ${gen}/${base}.pb.cc)
    list(APPEND hdrs ${gen}/${base}.pb.h)
    if(K_GRPC)
      list(APPEND srcs ${gen}/${base}.grpc.pb.cc)
      list(APPEND hdrs ${gen}/${base}.grpc.pb.h)
    endif()
  endforeach()
  set(${OUT_SRCS} ${srcs} PARENT_SCOPE)
  set(${OUT_HDRS} ${hdrs} PARENT_SCOPE)
endfunction()

find_program(KAIGO_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

# kaigo_fuzzer(NAME SRCS a_fuzz.cc DEPS x y): a libFuzzer target, built only with
# KAIGO_BUILD_FUZZERS (clang).
function(kaigo_fuzzer NAME)
  if(NOT KAIGO_BUILD_FUZZERS)
    return()
  endif()
  cmake_parse_arguments(K "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${NAME} ${K_SRCS})
  target_include_directories(${NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${NAME} PRIVATE ${K_DEPS})
  target_link_options(${NAME} PRIVATE -fsanitize=fuzzer)
  set_target_properties(${NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
endfunction()
