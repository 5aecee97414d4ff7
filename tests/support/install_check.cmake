# Installs the build BUILD into PREFIX and checks that the programs a user
# runs are there together: cmake -D BUILD=... -D PREFIX=... -P install_check.cmake
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${PREFIX}
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
foreach(prog natsecd natsecctl natsec-load)
  if(NOT EXISTS ${PREFIX}/sbin/${prog})
    message(FATAL_ERROR "${prog} is not installed in ${PREFIX}/sbin")
  endif()
endforeach()
message(STATUS "installed in ${PREFIX}/sbin: natsecd natsecctl natsec-load")
