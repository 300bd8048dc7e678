#pragma once
/// sim/huge_pages.hpp — memory that asks the kernel for transparent huge pages (madvise
/// MADV_HUGEPAGE): the simulator's per-device array and the agenda's chunks.
///
/// Each event touches one device chosen by the agenda, effectively at random in an array of
/// hundreds of MB: with 4 KiB pages nearly every such touch also misses the TLB (a page walk,
/// itself often a cache miss). 2 MiB pages make the whole array a few hundred TLB entries
/// (docs/performance.md). Only a hint: where THP is off, or for arrays under kMinBytes (a small
/// scenario would otherwise get a 2 MiB page for a few devices), it is a plain allocation.
/// The agenda (sim/event_queue.hpp) writes each wake-up into the partly filled chunk of one of
/// 4096 buckets, again at random in megabytes: its chunks come in huge pages too.
#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace consentrig::sim {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

/// `bytes` rounded up to whole huge pages, aligned to one, with the hint; give it back with
/// std::free.
[[nodiscard]] inline void* allocate_huge_pages(std::size_t bytes) {
    const std::size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    void* p = std::aligned_alloc(kHugePageBytes, rounded);
    if (p == nullptr) throw std::bad_alloc();
    static_cast<void>(::madvise(p, rounded, MADV_HUGEPAGE));  // a hint: refused is fine
    return p;
}

template <class T>
struct HugePageAllocator {
    using value_type = T;
    static constexpr std::size_t kMinBytes = 4 * kHugePageBytes;

    HugePageAllocator() = default;
    template <class U>
    explicit HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

    [[nodiscard]] T* allocate(std::size_t n) {
        const std::size_t bytes = n * sizeof(T);
        if (bytes < kMinBytes) return static_cast<T*>(::operator new(bytes, std::align_val_t{alignof(T)}));
        return static_cast<T*>(allocate_huge_pages(bytes));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n * sizeof(T) < kMinBytes) ::operator delete(p, std::align_val_t{alignof(T)});
        else std::free(p);
    }
    template <class U>
    friend bool operator==(const HugePageAllocator&, const HugePageAllocator<U>&) noexcept {
        return true;
    }
};

}  // namespace consentrig::sim
