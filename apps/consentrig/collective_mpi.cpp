#include <mpi.h>

#include <cstdlib>

#include "collective.hpp"

namespace consentrig::app {
namespace {
bool started = false;
}

Collective collective_start() {
    // Only a process that mpirun started joins a job; a plain `consentrig run` stays alone
    // (and does not pay for MPI_Init).
    if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMI_SIZE")) return {};
    MPI_Init(nullptr, nullptr);
    started = true;
    Collective c;
    MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c.size);
    return c;
}

std::vector<std::string> gather_to_root(const std::string& mine) {
    if (!started) return {mine};
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int length = static_cast<int>(mine.size());
    std::vector<int> lengths(static_cast<std::size_t>(size));
    MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::vector<int> offsets(static_cast<std::size_t>(size));
    std::string all;
    if (rank == 0) {
        int total = 0;
        for (int r = 0; r < size; ++r) {
            offsets[static_cast<std::size_t>(r)] = total;
            total += lengths[static_cast<std::size_t>(r)];
        }
        all.resize(static_cast<std::size_t>(total));
    }
    MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
    std::vector<std::string> out;
    if (rank == 0) {
        for (int r = 0; r < size; ++r) {
            out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                                     static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
        }
    }
    return out;
}

void collective_stop() {
    if (started) MPI_Finalize();
    started = false;
}

}  // namespace consentrig::app
