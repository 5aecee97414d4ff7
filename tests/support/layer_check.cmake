# Checks that the layer views (CMakeLists.txt) enforce the layering of
# docs/design.md: for every layer, a file that includes a header of each
# layer below it (or its own) compiles with that layer's view, and a file
# that includes a header of any layer above it does not.
# Arguments: -D CC=compiler -D SRC=source dir -D VIEWS=build/layer-view
#            -D LAYERS="util;crypto;..." (lowest first) -D OUT=scratch dir
file(MAKE_DIRECTORY ${OUT})
set(failures 0)
set(index 0)
foreach(layer ${LAYERS})
  set(jndex 0)
  foreach(other ${LAYERS})
    file(GLOB headers ${SRC}/src/${other}/*.h)
    list(GET headers 0 header)
    get_filename_component(hname ${header} NAME)
    set(probe ${OUT}/${layer}_sees_${other}.c)
    file(WRITE ${probe} "#include \"${other}/${hname}\"\nint ns_layer_probe;\n")
    execute_process(COMMAND ${CC} -std=c17 -D_GNU_SOURCE -fsyntax-only -I${VIEWS}/${layer} ${probe}
                    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
    if(jndex LESS_EQUAL index AND NOT rc EQUAL 0)
      message(SEND_ERROR "${layer} cannot include ${other}/${hname}, a layer at or below it")
      math(EXPR failures "${failures} + 1")
    elseif(jndex GREATER index AND rc EQUAL 0)
      message(SEND_ERROR "${layer} can include ${other}/${hname}, a layer above it")
      math(EXPR failures "${failures} + 1")
    endif()
    math(EXPR jndex "${jndex} + 1")
  endforeach()
  math(EXPR index "${index} + 1")
endforeach()
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} layering violation(s)")
endif()
message(STATUS "every layer sees exactly the layers below it")
