#pragma once
/// apps/consentrig/collective.hpp — the processes of one run: a single process, or the ranks
/// of an MPI job (`mpirun -np K consentrig run …`). Built with MPI (CMake option CONSENTRIG_MPI,
/// on when Open MPI is installed) the real implementation is collective_mpi.cpp; otherwise
/// collective_single.cpp, where every run is one process.
#include <string>
#include <vector>

namespace consentrig::app {

struct Collective {
    int rank = 0;
    int size = 1;
};

/// Joins the MPI job when launched by mpirun (MPI_Init); a lone process is rank 0 of 1.
[[nodiscard]] Collective collective_start();
/// Rank 0 receives every rank's string, in rank order; other ranks receive nothing.
[[nodiscard]] std::vector<std::string> gather_to_root(const std::string& mine);
void collective_stop();

}  // namespace consentrig::app
