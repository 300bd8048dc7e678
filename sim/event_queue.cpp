#include "sim/event_queue.hpp"

#include <cstddef>
#include <new>
#include <utility>

#include "sim/huge_pages.hpp"

namespace consentrig::sim {

void EventQueue::grow(Bucket& bucket) {
    if (free_ == nullptr) {  // a huge page of chunks at a time
        std::unique_ptr<void, FreeSlab> slab(allocate_huge_pages(kHugePageBytes));
        auto* const chunks = static_cast<std::byte*>(slab.get());
        slabs_.push_back(std::move(slab));
        for (std::size_t k = 0; k < kHugePageBytes / sizeof(Chunk); ++k) {
            Chunk* chunk = new (chunks + k * sizeof(Chunk)) Chunk;
            chunk->next = free_;
            free_ = chunk;
        }
    }
    Chunk* chunk = free_;
    free_ = chunk->next;
    chunk->next = nullptr;
    (bucket.tail != nullptr ? bucket.tail->next : bucket.head) = chunk;
    bucket.tail = chunk;
    bucket.tail_used = 0;
}

template <class F>
void EventQueue::drain(Bucket& bucket, F&& each) {
    for (Chunk* chunk = bucket.head; chunk != nullptr;) {
        const std::uint32_t used = chunk == bucket.tail ? bucket.tail_used : Chunk::kEntries;
        for (std::uint32_t k = 0; k < used; ++k) each(chunk->keys[k]);
        Chunk* next = chunk->next;
        chunk->next = free_;
        free_ = chunk;
        chunk = next;
    }
    bucket = Bucket{};
}

void EventQueue::clear() {
    for (Bucket& bucket : buckets_) drain(bucket, [](std::uint64_t) {});
    overflow_.clear();
    late_.clear();
    current_entries_.clear();
    pos_ = 0;
    sorted_ = false;
    size_ = 0;
}

void EventQueue::start_at(std::int64_t bucket) {
    current_entries_.clear();
    pos_ = 0;
    current_ = bucket;
    sorted_ = false;
}

/// Before the first pop (a fleet's first wake-ups arrive in device order, not time order):
/// moves the ring's start back to `bucket`, so that the earliest bucket is the one sorted
/// first. Buckets the ring no longer reaches go to the overflow.
void EventQueue::reanchor(std::int64_t bucket) {
    const std::int64_t reach = bucket + static_cast<std::int64_t>(kBuckets);
    for (std::int64_t k = std::max(reach, current_); k < current_ + static_cast<std::int64_t>(kBuckets); ++k) {
        drain(buckets_[slot(k)], [&](std::uint64_t key) {
            overflow_.push_back(Wake{k * kBucketMs + static_cast<core::TimeMs>(key >> 32U), static_cast<std::uint32_t>(key)});
            std::push_heap(overflow_.begin(), overflow_.end(), std::greater<>{});
        });
    }
    current_ = bucket;
}

/// Makes the current bucket sorted and non-exhausted (or the late heap non-empty), moving on
/// to the next non-empty bucket when it is spent.
void EventQueue::advance() {
    if (!sorted_) {
        sort_current();
        sorted_ = true;
    }
    while (size_ > 0 && pos_ == current_entries_.size() && late_.empty()) {
        ++current_;
        // Entries left in the ring: all but the overflow's (the current bucket is spent).
        if (size_ == overflow_.size() && !overflow_.empty()) {
            current_ = std::max(current_, bucket_of(overflow_.front().at));  // jump an empty stretch
        }
        // Bring overflow entries whose bucket is now within the ring into it.
        while (!overflow_.empty() && bucket_of(overflow_.front().at) < current_ + static_cast<std::int64_t>(kBuckets)) {
            const Wake w = overflow_.front();
            std::pop_heap(overflow_.begin(), overflow_.end(), std::greater<>{});
            overflow_.pop_back();
            append(buckets_[slot(bucket_of(w.at))], pack(w.at, bucket_of(w.at), w.id));
        }
        sort_current();
    }
}

/// Sorts the current bucket into current_entries_ by (millisecond, id). A full bucket (a large
/// fleet) goes by a counting sort on the millisecond, then each millisecond's entries by id
/// (often one or two; hundreds where a fleet's heartbeats fall due together); a sparse one (a
/// small fleet: the counts would cost more than the entries) by a plain sort.
void EventQueue::sort_current() {
    Bucket& bucket = buckets_[slot(current_)];
    std::size_t n = 0;
    for (const Chunk* chunk = bucket.head; chunk != nullptr; chunk = chunk->next) {
        n += chunk == bucket.tail ? bucket.tail_used : Chunk::kEntries;
    }
    current_entries_.resize(n);
    pos_ = 0;
    constexpr std::size_t kCountingSortFrom = static_cast<std::size_t>(kBucketMs) / 4;
    if (n < kCountingSortFrom) {
        std::size_t k = 0;
        drain(bucket, [&](std::uint64_t key) { current_entries_[k++] = key; });
        std::sort(current_entries_.begin(), current_entries_.end());
        return;
    }
    counts_.assign(static_cast<std::size_t>(kBucketMs) + 1, 0);
    for (const Chunk* chunk = bucket.head; chunk != nullptr; chunk = chunk->next) {
        const std::uint32_t used = chunk == bucket.tail ? bucket.tail_used : Chunk::kEntries;
        for (std::uint32_t k = 0; k < used; ++k) ++counts_[(chunk->keys[k] >> 32U) + 1];
    }
    for (std::size_t ms = 1; ms < counts_.size(); ++ms) counts_[ms] += counts_[ms - 1];
    drain(bucket, [&](std::uint64_t key) { current_entries_[counts_[key >> 32U]++] = key; });
    // counts_[ms] is now the end of that millisecond's entries, and the start of the next's.
    std::uint32_t from = 0;
    for (std::size_t ms = 0; ms < static_cast<std::size_t>(kBucketMs); ++ms) {
        const std::uint32_t to = counts_[ms];
        if (to - from > 1) std::sort(current_entries_.begin() + from, current_entries_.begin() + to);
        from = to;
    }
}

}  // namespace consentrig::sim
