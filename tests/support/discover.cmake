# Runs a unit test program with NATSEC_TEST_LIST=1 after it is built and
# writes one CTest test per cmocka test case into OUT (included by CTest
# through TEST_INCLUDE_FILES), so `ctest -N` lists every case by name.
# A case that reports itself skipped (support/test_skip.h: exit 77) shows
# as skipped in CTest's summary.
# Inputs: PROG (the executable), NAME (the program's name), OUT, ENVVARS.
execute_process(COMMAND ${CMAKE_COMMAND} -E env NATSEC_TEST_LIST=1 ${PROG}
  OUTPUT_VARIABLE names RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NAME}: listing its tests failed (${rc})")
endif()
string(REPLACE "\n" ";" names "${names}")
set(content "")
foreach(case ${names})
  if(case STREQUAL "")
    continue()
  endif()
  set(test "unit.${NAME}.${case}")
  string(APPEND content "add_test([=[${test}]=] [=[${PROG}]=])\n")
  string(APPEND content "set_tests_properties([=[${test}]=] PROPERTIES LABELS unit SKIP_RETURN_CODE 77 ENVIRONMENT [=[NATSEC_TEST_FILTER=${case};${ENVVARS}]=])\n")
endforeach()
if(content STREQUAL "")
  message(FATAL_ERROR "${NAME}: no test cases found")
endif()
file(WRITE ${OUT} "${content}")
