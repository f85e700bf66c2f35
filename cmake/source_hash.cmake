# Writes OUT (a header) defining INT4_SOURCE_HASH: a SHA-256 over the native sources, so a binary
# can say which sources it was built from. Recipe (test/helpers/sourceHash.ts computes the same):
#   for each file of cpp/**, cmake/** and CMakeLists.txt, sorted by relative path with '/':
#     "<relative path>\n<sha256 of its bytes>\n"
#   and the SHA-256 of all of that.
file(GLOB_RECURSE files RELATIVE "${ROOT}" "${ROOT}/cpp/*" "${ROOT}/cmake/*")
list(APPEND files "CMakeLists.txt")
list(SORT files)
set(manifest "")
foreach(f IN LISTS files)
  file(SHA256 "${ROOT}/${f}" h)
  string(APPEND manifest "${f}\n${h}\n")
endforeach()
string(SHA256 hash "${manifest}")
set(content "#pragma once\n#define INT4_SOURCE_HASH \"${hash}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE "${OUT}" "${content}")
endif()
