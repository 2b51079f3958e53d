# unetrc_add_model(<target> MODEL <file.onnx>
#                  [NAME <prefix>] [EMBED_WEIGHTS] [TARGET_CPU <cpu>] [VECTOR_BITS <n>]
#                  [TRAIN] [SHARED] [OPTIONS <unetrc options>...])
#
# Compiles MODEL with unetrc at build time (again whenever the model, the unetrc binary or the
# arguments change) into <NAME>.c, <NAME>.h and <NAME>.weights in
# ${CMAKE_CURRENT_BINARY_DIR}/<target>, and makes <target> a static library of the generated
# code with that folder as its public include directory (OpenMP linked when found).
#   NAME           symbol prefix and file name (default: <target>)
#   EMBED_WEIGHTS  weights in the C file (else the library's property UNETRC_WEIGHTS_FILE names
#                  the .weights file to ship next to the program)
#   TARGET_CPU     unetrc --target-cpu (default: the build machine's CPU, as unetrc's default)
#   VECTOR_BITS    unetrc --vector-bits
#   TRAIN          also the training step (unetrc --train; give its options with OPTIONS)
#   SHARED         a shared library (position-independent) instead of a static one: what
#                  python/unetrc_model.py loads (ctypes) for regression tests from Python
#   OPTIONS        further unetrc options, passed as they are
# Available after find_package(unetrc CONFIG) and inside the unetrc build (add_subdirectory).
function(unetrc_add_model target)
  cmake_parse_arguments(PARSE_ARGV 1 A "EMBED_WEIGHTS;TRAIN;SHARED" "MODEL;NAME;TARGET_CPU;VECTOR_BITS" "OPTIONS")
  if(A_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "unetrc_add_model(${target}): unknown arguments: ${A_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT A_MODEL)
    message(FATAL_ERROR "unetrc_add_model(${target}): MODEL <file.onnx> is required")
  endif()
  if(NOT TARGET unetrc::unetrc)
    message(FATAL_ERROR "unetrc_add_model(${target}): the unetrc compiler (target unetrc::unetrc) is not known here")
  endif()
  get_filename_component(model "${A_MODEL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  set(name "${A_NAME}")
  if(NOT name)
    set(name "${target}")
  endif()
  if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "unetrc_add_model(${target}): NAME '${name}' is not a C identifier")
  endif()
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/${target}")
  set(args "${model}" -o "${dir}/${name}.c")
  set(outs "${dir}/${name}.c" "${dir}/${name}.h")
  if(A_EMBED_WEIGHTS)
    list(APPEND args --embed-weights)
  else()
    list(APPEND outs "${dir}/${name}.weights")
  endif()
  if(A_TARGET_CPU)
    list(APPEND args --target-cpu "${A_TARGET_CPU}")
  endif()
  if(A_VECTOR_BITS)
    list(APPEND args --vector-bits "${A_VECTOR_BITS}")
  endif()
  if(A_TRAIN)
    list(APPEND args --train)
  endif()
  list(APPEND args ${A_OPTIONS})
  file(MAKE_DIRECTORY "${dir}")
  add_custom_command(OUTPUT ${outs}
    COMMAND unetrc::unetrc ${args}
    DEPENDS "${model}" unetrc::unetrc
    COMMENT "unetrc: compiling ${A_MODEL} into ${name}.c"
    VERBATIM)
  if(A_SHARED)
    add_library(${target} SHARED "${dir}/${name}.c")
  else()
    add_library(${target} STATIC "${dir}/${name}.c")
  endif()
  target_include_directories(${target} PUBLIC "$<BUILD_INTERFACE:${dir}>")
  find_package(OpenMP QUIET COMPONENTS C)
  if(OpenMP_C_FOUND)
    target_link_libraries(${target} PUBLIC OpenMP::OpenMP_C)
  endif()
  target_link_libraries(${target} PUBLIC m)
  set_target_properties(${target} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
  if(NOT A_EMBED_WEIGHTS)
    set_target_properties(${target} PROPERTIES UNETRC_WEIGHTS_FILE "${dir}/${name}.weights")
  endif()
endfunction()
