# unetrc_add_model(<target> MODEL <file.onnx>|<net.json> [WEIGHTS <file.safetensors>]
#                  [NAME <prefix>] [EMBED_WEIGHTS] [BACKEND c|llvm] [TARGET_CPU <cpu>] [TARGET <triple>]
#                  [CPU <llvm cpu>] [VECTOR_BITS <n>] [PRECISION fp32|bf16|fp16|int8] [CALIBRATE <dir>]
#                  [TRAIN] [SHARED] [OPTIONS <unetrc options>...])
#
# Compiles MODEL with unetrc at build time (again whenever the model, its WEIGHTS or CALIBRATE samples,
# the unetrc binary or the arguments change) into <NAME>.c (BACKEND llvm: <NAME>.o), <NAME>.h and <NAME>.weights in
# ${CMAKE_CURRENT_BINARY_DIR}/<target>, and makes <target> a static library of the generated
# code with that folder as its public include directory (OpenMP linked when found).
#   MODEL          an ONNX file, or a MONAI network config (JSON: docs/cli.md)
#   WEIGHTS        unetrc --weights: the config's state dict as safetensors (without it a config
#                  needs OPTIONS --init SEED)
#   NAME           symbol prefix and file name (default: <target>)
#   EMBED_WEIGHTS  weights in the C file (else the library's property UNETRC_WEIGHTS_FILE names
#                  the .weights file to ship next to the program)
#   BACKEND        unetrc --backend: c (the default; the project's C compiler builds the code) or llvm
#                  (unetrc writes the object itself; the compiler must have been built with LLVM)
#   TARGET_CPU     unetrc --target-cpu. Default: unetrc's (a baseline of the build machine's
#                  architecture), or when cross-compiling the baseline of CMAKE_SYSTEM_PROCESSOR
#                  (aarch64: armv8-a, x86_64: x86-64-v3; another processor needs TARGET_CPU, or
#                  TARGET with BACKEND llvm)
#   TARGET, CPU    unetrc --target and --cpu (BACKEND llvm): the object's triple and LLVM CPU
#                  (default: TARGET_CPU's)
#   VECTOR_BITS    unetrc --vector-bits
#   PRECISION      unetrc --precision: the storage type of the convolution and matrix product weights
#                  (fp32, the default; bf16 or fp16 halve them; int8 quarters them and needs CALIBRATE;
#                  --keep-fp32 and --bf16-exact through OPTIONS)
#   CALIBRATE      unetrc --calibrate (PRECISION int8, and only with it): a folder of .npy samples of the
#                  model's input; a sample added, removed or changed compiles the model again
#   TRAIN          also the training step (unetrc --train; give its options with OPTIONS)
#   SHARED         a shared library (position-independent) instead of a static one: what
#                  python/unetrc_model.py loads (ctypes) for regression tests from Python
#   OPTIONS        further unetrc options, passed as they are
# Available after find_package(unetrc CONFIG) and inside the unetrc build (add_subdirectory). The
# compiler is unetrc::unetrc, or the program UNETRC_EXECUTABLE names when that variable is set (the
# build machine's unetrc in a cross build: docs/build.md).
function(unetrc_add_model target)
  cmake_parse_arguments(PARSE_ARGV 1 A "EMBED_WEIGHTS;TRAIN;SHARED" "MODEL;WEIGHTS;NAME;BACKEND;TARGET_CPU;TARGET;CPU;VECTOR_BITS;PRECISION;CALIBRATE"
                        "OPTIONS")
  if(A_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "unetrc_add_model(${target}): unknown arguments: ${A_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT A_MODEL)
    message(FATAL_ERROR "unetrc_add_model(${target}): MODEL <file.onnx> or <net.json> is required")
  endif()
  if(A_PRECISION AND NOT A_PRECISION MATCHES "^(fp32|bf16|fp16|int8)$")
    message(FATAL_ERROR "unetrc_add_model(${target}): PRECISION '${A_PRECISION}' is none of fp32, bf16, fp16, int8")
  endif()
  if(A_PRECISION STREQUAL "int8" AND NOT A_CALIBRATE)
    message(FATAL_ERROR "unetrc_add_model(${target}): PRECISION int8 needs CALIBRATE <dir> (.npy samples of the "
                        "model's input)")
  endif()
  if(A_CALIBRATE AND NOT A_PRECISION STREQUAL "int8")
    message(FATAL_ERROR "unetrc_add_model(${target}): CALIBRATE is for PRECISION int8")
  endif()
  if(UNETRC_EXECUTABLE)
    set(exe "${UNETRC_EXECUTABLE}")
  elseif(TARGET unetrc::unetrc)
    set(exe unetrc::unetrc)
  else()
    message(FATAL_ERROR "unetrc_add_model(${target}): the unetrc compiler is not known here: set UNETRC_EXECUTABLE "
                        "to the build machine's unetrc (or UNETRC_HOST_PREFIX to its install prefix)")
  endif()
  if(NOT A_BACKEND)
    set(A_BACKEND c)
  endif()
  if(NOT A_BACKEND MATCHES "^(c|llvm)$")
    message(FATAL_ERROR "unetrc_add_model(${target}): BACKEND '${A_BACKEND}' is neither c nor llvm")
  endif()
  if((A_TARGET OR A_CPU) AND NOT A_BACKEND STREQUAL "llvm")
    message(FATAL_ERROR "unetrc_add_model(${target}): TARGET and CPU are for BACKEND llvm (else TARGET_CPU)")
  endif()
  if(NOT A_TARGET_CPU AND CMAKE_CROSSCOMPILING)
    # not the build machine's baseline: the device's
    if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
      set(A_TARGET_CPU armv8-a)
    elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|amd64|AMD64)$")
      set(A_TARGET_CPU x86-64-v3)
    elseif(NOT A_TARGET)
      message(FATAL_ERROR "unetrc_add_model(${target}): cross-compiling for '${CMAKE_SYSTEM_PROCESSOR}': give "
                          "TARGET_CPU (unetrc --target-cpu, e.g. cortex-m7)")
    endif()
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
  if(A_BACKEND STREQUAL "llvm")
    set(code "${dir}/${name}.o")
  else()
    set(code "${dir}/${name}.c")
  endif()
  set(args "${model}" -o "${code}" --backend ${A_BACKEND})
  set(deps "${model}")
  if(A_WEIGHTS)
    get_filename_component(weights "${A_WEIGHTS}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND args --weights "${weights}")
    list(APPEND deps "${weights}")
  endif()
  if(A_PRECISION)
    list(APPEND args --precision ${A_PRECISION})
  endif()
  if(A_CALIBRATE)
    get_filename_component(cal "${A_CALIBRATE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT IS_DIRECTORY "${cal}")
      message(FATAL_ERROR "unetrc_add_model(${target}): CALIBRATE '${cal}' is not a folder")
    endif()
    # the samples are dependencies; CONFIGURE_DEPENDS: a sample added or removed reconfigures
    file(GLOB samples CONFIGURE_DEPENDS "${cal}/*.npy")
    list(APPEND args --calibrate "${cal}")
    list(APPEND deps ${samples})
  endif()
  set(outs "${code}" "${dir}/${name}.h")
  if(A_EMBED_WEIGHTS)
    list(APPEND args --embed-weights)
  else()
    list(APPEND outs "${dir}/${name}.weights")
  endif()
  if(A_TARGET_CPU)
    list(APPEND args --target-cpu "${A_TARGET_CPU}")
  endif()
  if(A_TARGET)
    list(APPEND args --target "${A_TARGET}")
  endif()
  if(A_CPU)
    list(APPEND args --cpu "${A_CPU}")
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
    COMMAND ${exe} ${args}
    DEPENDS ${deps} ${exe}
    COMMENT "unetrc: compiling ${A_MODEL} into ${code}"
    VERBATIM)
  if(A_SHARED)
    add_library(${target} SHARED "${code}")
  else()
    add_library(${target} STATIC "${code}")
  endif()
  if(A_BACKEND STREQUAL "llvm")
    # the object as it is (a library of one object: the archive, or the shared library linked from it)
    set_source_files_properties("${code}" PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
    set_target_properties(${target} PROPERTIES LINKER_LANGUAGE C)
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
