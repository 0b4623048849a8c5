# Target-scoped settings and the one helper that adds a unit test.

add_library(leafmon_options INTERFACE)
target_compile_definitions(leafmon_options INTERFACE _GNU_SOURCE
  LEAFMON_VERSION="${PROJECT_VERSION}")
target_compile_options(leafmon_options INTERFACE -Wall -Wextra -Wshadow -Wstrict-prototypes
  -Wmissing-prototypes -Wno-unused-parameter -Wno-missing-field-initializers
  $<$<BOOL:${LEAFMON_WERROR}>:-Werror>)
if(LEAFMON_UNSIGNED_CHAR)
  target_compile_options(leafmon_options INTERFACE -funsigned-char)
endif()
if(LEAFMON_SANITIZE)
  target_compile_options(leafmon_options INTERFACE -fsanitize=${LEAFMON_SANITIZE}
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(leafmon_options INTERFACE -fsanitize=${LEAFMON_SANITIZE})
endif()
if(LEAFMON_FUZZ)
  target_compile_options(leafmon_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
    -fno-omit-frame-pointer)
  target_link_options(leafmon_options INTERFACE -fsanitize=address,undefined)
endif()

find_program(VALGRIND valgrind)

# leafmon_add_test(NAME SOURCES src... [LIBS lib...] [LABELS l...] [TIMEOUT s])
# Builds test_NAME and registers it (label "unit" unless given); with
# LEAFMON_VALGRIND also registers valgrind_NAME.
function(leafmon_add_test name)
  cmake_parse_arguments(T "NOVALGRIND" "TIMEOUT" "SOURCES;LIBS;LABELS;ENV" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  add_executable(test_${name} ${T_SOURCES})
  target_link_libraries(test_${name} PRIVATE leafmon_options leafmon_testlib ${T_LIBS})
  add_test(NAME ${name} COMMAND test_${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}" SKIP_RETURN_CODE 77
    ENVIRONMENT "LEAFMON_DATA=${PROJECT_SOURCE_DIR}/../shared/data/leaf;LEAFMON_SRC=${PROJECT_SOURCE_DIR};${T_ENV}")
  if(LEAFMON_VALGRIND AND VALGRIND AND NOT T_NOVALGRIND)
    add_test(NAME valgrind_${name} COMMAND ${VALGRIND} --quiet --error-exitcode=99
      --leak-check=full --errors-for-leak-kinds=definite $<TARGET_FILE:test_${name}>)
    math(EXPR vt "${T_TIMEOUT} * 20")
    set_tests_properties(valgrind_${name} PROPERTIES TIMEOUT ${vt} LABELS valgrind SKIP_RETURN_CODE 77
      ENVIRONMENT "LEAFMON_DATA=${PROJECT_SOURCE_DIR}/../shared/data/leaf;LEAFMON_SRC=${PROJECT_SOURCE_DIR};LEAFMON_UNDER_VALGRIND=1;${T_ENV}")
  endif()
endfunction()

# leafmon_worker(TARGET): a worker executable. Built into build/libexec, where
# build/supervisor/leafmond finds it (../libexec beside itself, see
# supervisor/workerdir.h), and installed into ${LEAFMON_LIBEXECDIR}, where an
# installed leafmond looks.
function(leafmon_worker target)
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/libexec)
  install(TARGETS ${target} RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/leafmon)
endfunction()
