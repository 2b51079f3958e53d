# cmake -DSRC=<source dir> -DOUT=<header> -P revision.cmake: writes OUT defining URC_REVISION (git describe of
# SRC, "-dirty" with local changes; "unknown" outside a git checkout), rewritten only when it changes.
execute_process(COMMAND git -C "${SRC}" describe --always --dirty --abbrev=12 OUTPUT_VARIABLE rev
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR rev STREQUAL "")
  set(rev "unknown")
endif()
file(WRITE "${OUT}.tmp" "#define URC_REVISION \"${rev}\"\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
