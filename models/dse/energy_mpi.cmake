# Included by models/dse/CMakeLists.txt: the energy model and the MPI pool (issue 17 part E).
# ---- energy model (models/dse/energy.*): constants from data/energy_table.json, embedded at
# configure time (editing the JSON re-runs CMake).
set(NQKV_ENERGY_TABLE ${CMAKE_CURRENT_SOURCE_DIR}/data/energy_table.json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${NQKV_ENERGY_TABLE})
file(READ ${NQKV_ENERGY_TABLE} NQKV_ENERGY_TABLE_TEXT)
file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/energy_table_data.cpp
     CONTENT "// Generated from models/dse/data/energy_table.json by models/dse/CMakeLists.txt.\nnamespace nqkv::dse {\nextern const char* const kEnergyTableJson;\nconst char* const kEnergyTableJson = R\"nqkvjson(@NQKV_ENERGY_TABLE_TEXT@)nqkvjson\";\n}  // namespace nqkv::dse\n"
     @ONLY)
add_library(nqkv_dse_energy STATIC energy.cpp ${CMAKE_CURRENT_BINARY_DIR}/energy_table_data.cpp)
target_include_directories(nqkv_dse_energy PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(nqkv_dse_energy PUBLIC nqkv_perf nqkv_io nlohmann_json::nlohmann_json fmt::fmt)

# ---- MPI master/worker pool (models/dse/mpi_pool.*): OpenMPI when found at configure time
# (NQKV_HAVE_MPI, like Verilator and CUDA); without it the pool is serial and `mpirun nqkv` refuses.
find_package(MPI COMPONENTS C)
add_library(nqkv_dse_mpi STATIC mpi_pool.cpp)
target_include_directories(nqkv_dse_mpi PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(nqkv_dse_mpi PUBLIC nqkv_io)
if(MPI_C_FOUND)
  target_link_libraries(nqkv_dse_mpi PRIVATE MPI::MPI_C)
  target_compile_definitions(nqkv_dse_mpi PRIVATE NQKV_HAVE_MPI=1)
  set(NQKV_HAVE_MPI ON CACHE INTERNAL "nqkv: MPI pool compiled in")
else()
  set(NQKV_HAVE_MPI OFF CACHE INTERNAL "nqkv: MPI pool compiled in")
endif()
message(STATUS "nqkv: MPI pool ${NQKV_HAVE_MPI}")

if(TARGET nqkv_dse)
  target_link_libraries(nqkv_dse PUBLIC nqkv_dse_energy nqkv_dse_mpi)
endif()
