# Makes one manual page with pandoc:
#   cmake -D PANDOC=... -D NAME=natsecd -D SECTION=8 -D VERSION=0.1.0
#         -D OUT=... -D FILTER=man/tables-as-lists.lua -D "INPUTS=a.md;b.md"
#         -P man.cmake
# The pages' text is markdown: natsecd.conf(5) is docs/config.md itself
# behind a NAME and SYNOPSIS, so the manual and the documentation agree.
string(TOUPPER "${NAME}" title)
execute_process(
  COMMAND ${PANDOC} --standalone --from markdown-smart --to man
          --metadata title=${title} --metadata section=${SECTION}
          --metadata "header=natsec manual" --metadata "footer=natsec ${VERSION}"
          --lua-filter ${FILTER}
          --output ${OUT} ${INPUTS}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pandoc failed for ${NAME}(${SECTION}) (${rc})")
endif()
