#pragma once
/// sim/event_queue.hpp — the discrete-event engine's agenda: wake-ups ordered by time.
///
/// A calendar queue: time is cut into buckets of kBucketMs; a ring of kBuckets buckets covers
/// the near future, later wake-ups wait in an overflow heap until their bucket comes into
/// range. A bucket is an unsorted list of 1 KiB chunks from a shared pool while it fills (at
/// most one partly filled chunk per bucket: a million wake-ups cost their 8 MB and at most 4 MB
/// more; 2 KiB chunks left up to 8 MB, as much as the entries themselves) and is
/// sorted into one array when it becomes the current one. The few wake-ups pushed into the
/// current bucket (or before it) after that wait in a small heap beside it; the first wake-ups,
/// pushed before the first pop in any order, move the ring's start back instead. An entry in
/// the ring is 8 bytes: its id and its millisecond within the bucket, packed so that sorting
/// the integers sorts by (time, id). The agenda of a large fleet is dominated by memory traffic,
/// not comparisons: the sorted bucket also tells the runner which devices come next
/// (`upcoming`), so it can load their state ahead of time. Order is exact and deterministic:
/// always the smallest (time, id); ties go to the smaller id.
///
/// The fleet runner keeps one live entry per device and drops stale ones lazily (an entry
/// whose time no longer matches the device's due time), and clears the agenda when it
/// reschedules every device at once; bench/fleet drives the same queue in its fixed-tick mode.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "core/time.hpp"

namespace consentrig::sim {

struct Wake {
    core::TimeMs at = 0;
    std::uint32_t id = 0;
    friend bool operator>(const Wake& a, const Wake& b) { return a.at != b.at ? a.at > b.at : a.id > b.id; }
};

class EventQueue {
public:
    static constexpr core::DurationMs kBucketMs = 4096;
    static constexpr std::size_t kBuckets = 1 << 12;  ///< ≈ 4.7 h of near future
    /// What one queued wake-up in the ring costs (the overflow and the late heap hold Wakes).
    static constexpr std::size_t kEntryBytes = sizeof(std::uint64_t);
    static constexpr std::uint32_t kNoId = std::numeric_limits<std::uint32_t>::max();

    EventQueue() : buckets_(kBuckets) {}

    /// Room for n entries beyond the ring (a fleet's first wake-ups may all lie hours ahead).
    void reserve(std::size_t n) { overflow_.reserve(n); }

    void push(core::TimeMs at, std::uint32_t id) {
        const std::int64_t b = bucket_of(at);
        if (size_ == 0) start_at(b);  // an empty agenda starts wherever the first entry is
        if (!sorted_ && b < current_) reanchor(b);
        ++size_;
        if (b < current_ || (b == current_ && sorted_)) {  // due in (or before) the bucket being popped
            late_.push_back(Wake{at, id});
            std::push_heap(late_.begin(), late_.end(), std::greater<>{});
        } else if (b < current_ + static_cast<std::int64_t>(kBuckets)) {
            append(buckets_[slot(b)], pack(at, b, id));
        } else {
            overflow_.push_back(Wake{at, id});
            std::push_heap(overflow_.begin(), overflow_.end(), std::greater<>{});
        }
    }

    /// Drops every entry (their chunks go back to the pool): for a caller about to push one
    /// entry per live item anyway, so that entries it no longer wants take no memory.
    void clear();

    [[nodiscard]] bool empty() const { return size_ == 0; }
    [[nodiscard]] std::size_t size() const { return size_; }

    /// The smallest entry; the queue must not be empty.
    [[nodiscard]] Wake top() {
        settle();
        return from_sorted() ? unpack(current_entries_[pos_]) : late_.front();
    }

    void pop() {
        settle();
        if (from_sorted()) {
            ++pos_;
        } else {
            std::pop_heap(late_.begin(), late_.end(), std::greater<>{});
            late_.pop_back();
        }
        --size_;
    }

    /// The id of about the `ahead`-th entry after the top, or kNoId when the current bucket
    /// does not reach that far: a hint for prefetching (entries pushed since may come first).
    [[nodiscard]] std::uint32_t upcoming(std::size_t ahead) const {
        return sorted_ && pos_ + ahead < current_entries_.size() ? static_cast<std::uint32_t>(current_entries_[pos_ + ahead])
                                                                 : kNoId;
    }

private:
    /// 1 KiB of entries; a bucket is a list of them, all full but the last.
    struct Chunk {
        static constexpr std::uint32_t kEntries = 127;
        Chunk* next = nullptr;
        std::uint64_t keys[kEntries];
    };
    static_assert(sizeof(Chunk) == 1024, "a chunk is 1 KiB");
    /// The last chunk's fill is kept here, not in the chunk: a push then touches only the
    /// line it writes (the bucket headers stay in cache, the chunks do not).
    struct Bucket {
        Chunk* head = nullptr;
        Chunk* tail = nullptr;
        std::uint32_t tail_used = 0;
    };

    [[nodiscard]] static std::int64_t bucket_of(core::TimeMs at) {
        return at >= 0 ? at / kBucketMs : -((-at + kBucketMs - 1) / kBucketMs);
    }
    [[nodiscard]] static std::size_t slot(std::int64_t bucket) {
        return static_cast<std::size_t>(bucket) & (kBuckets - 1);
    }
    /// Millisecond within the bucket in the high half, id in the low half.
    [[nodiscard]] static std::uint64_t pack(core::TimeMs at, std::int64_t bucket, std::uint32_t id) {
        return (static_cast<std::uint64_t>(at - bucket * kBucketMs) << 32U) | id;
    }
    [[nodiscard]] Wake unpack(std::uint64_t key) const {
        return Wake{current_ * kBucketMs + static_cast<core::TimeMs>(key >> 32U), static_cast<std::uint32_t>(key)};
    }
    /// Whether the top is the current bucket's next entry (else the late heap's).
    [[nodiscard]] bool from_sorted() const {
        if (pos_ == current_entries_.size()) return false;
        return late_.empty() || !(unpack(current_entries_[pos_]) > late_.front());
    }
    void append(Bucket& bucket, std::uint64_t key) {
        if (bucket.tail == nullptr || bucket.tail_used == Chunk::kEntries) grow(bucket);
        bucket.tail->keys[bucket.tail_used++] = key;
    }
    void settle() {
        if (!sorted_ || (pos_ == current_entries_.size() && late_.empty())) advance();
    }

    void grow(Bucket& bucket);
    /// Returns the bucket's chunks to the pool, calling `each` for every entry first.
    template <class F>
    void drain(Bucket& bucket, F&& each);
    void start_at(std::int64_t bucket);
    void reanchor(std::int64_t bucket);
    void advance();
    void sort_current();

    std::vector<Bucket> buckets_;
    struct FreeSlab {
        void operator()(void* slab) const noexcept { std::free(slab); }
    };
    std::vector<std::unique_ptr<void, FreeSlab>> slabs_;  ///< the chunks' storage, never given back
    Chunk* free_ = nullptr;                         ///< chunks not in a bucket
    std::vector<Wake> overflow_;  ///< heap of entries beyond the ring
    std::vector<Wake> late_;      ///< heap of entries pushed into the current bucket, or before it
    std::vector<std::uint64_t> current_entries_;  ///< the current bucket, sorted (once sorted_)
    std::vector<std::uint32_t> counts_;           ///< the sort's per-millisecond counts
    std::int64_t current_ = 0;    ///< the bucket being popped
    std::size_t pos_ = 0;         ///< its next entry, once sorted
    bool sorted_ = false;
    std::size_t size_ = 0;
};

}  // namespace consentrig::sim
