#pragma once
/// sim/event_queue.hpp — the discrete-event engine's agenda: wake-ups ordered by time.
///
/// A calendar queue: time is cut into buckets of kBucketMs; a ring of kBuckets buckets covers
/// the near future, later wake-ups wait in an overflow heap until their bucket comes into
/// range. A bucket is an unsorted array while it fills and is sorted once when it becomes the
/// current one; the few wake-ups pushed into the current bucket (or before it) after that wait
/// in a small heap beside it (the first wake-ups, pushed before the first pop in any order, move
/// the ring's start back instead). An entry in the ring is 8 bytes: its id and its millisecond within
/// the bucket, packed so that sorting the integers sorts by (time, id). The agenda of a large
/// fleet is dominated by memory traffic, not comparisons: the sorted bucket also tells the runner
/// which devices come next (`upcoming`), so it can load their state ahead of time. Order is
/// exact and deterministic: always the smallest (time, id); ties go to the smaller id.
///
/// The fleet runner keeps one live entry per device and drops stale ones lazily (an entry
/// whose time no longer matches the device's due time); bench/fleet drives the same queue in
/// its fixed-tick mode.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
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
        if (size_ == 0) {  // an empty agenda starts wherever the first entry is
            release(current_heap_bucket());
            current_ = b;
            sorted_ = false;
        }
        if (!sorted_ && b < current_) reanchor(b);
        ++size_;
        if (b < current_ || (b == current_ && sorted_)) {  // due in (or before) the bucket being popped
            late_.push_back(Wake{at, id});
            std::push_heap(late_.begin(), late_.end(), std::greater<>{});
        } else if (b < current_ + static_cast<std::int64_t>(kBuckets)) {
            buckets_[slot(b)].push_back(pack(at, b, id));
        } else {
            overflow_.push_back(Wake{at, id});
            std::push_heap(overflow_.begin(), overflow_.end(), std::greater<>{});
        }
    }

    [[nodiscard]] bool empty() const { return size_ == 0; }
    [[nodiscard]] std::size_t size() const { return size_; }

    /// The smallest entry; the queue must not be empty.
    [[nodiscard]] Wake top() {
        settle();
        return from_sorted() ? unpack(current_heap_bucket()[pos_]) : late_.front();
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
        const auto& bucket = buckets_[slot(current_)];
        return sorted_ && pos_ + ahead < bucket.size() ? static_cast<std::uint32_t>(bucket[pos_ + ahead]) : kNoId;
    }

private:
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
    std::vector<std::uint64_t>& current_heap_bucket() { return buckets_[slot(current_)]; }
    /// Whether the top is the current bucket's next entry (else the late heap's).
    [[nodiscard]] bool from_sorted() {
        const auto& bucket = current_heap_bucket();
        if (pos_ == bucket.size()) return false;
        return late_.empty() || !(unpack(bucket[pos_]) > late_.front());
    }
    /// Hands a spent bucket's storage back: kept, every bucket would hold the capacity of its
    /// busiest second and the ring would weigh more than the fleet.
    void release(std::vector<std::uint64_t>& bucket) {
        std::vector<std::uint64_t>().swap(bucket);
        pos_ = 0;
    }

    /// Before the first pop (a fleet's first wake-ups arrive in device order, not time order):
    /// moves the ring's start back to bucket b, so that the earliest bucket is the one sorted
    /// first. Buckets the ring no longer reaches go to the overflow.
    void reanchor(std::int64_t b) {
        const std::int64_t reach = b + static_cast<std::int64_t>(kBuckets);
        for (std::int64_t k = std::max(reach, current_); k < current_ + static_cast<std::int64_t>(kBuckets); ++k) {
            auto& bucket = buckets_[slot(k)];
            for (const std::uint64_t key : bucket) {
                overflow_.push_back(Wake{k * kBucketMs + static_cast<core::TimeMs>(key >> 32U), static_cast<std::uint32_t>(key)});
                std::push_heap(overflow_.begin(), overflow_.end(), std::greater<>{});
            }
            release(bucket);
        }
        current_ = b;
    }

    /// Makes the current bucket sorted and non-exhausted (or the late heap non-empty),
    /// advancing to the next non-empty bucket when it is spent.
    void settle() {
        if (!sorted_) {
            sort_bucket(current_heap_bucket());
            pos_ = 0;
            sorted_ = true;
        }
        while (size_ > 0 && pos_ == current_heap_bucket().size() && late_.empty()) {
            release(current_heap_bucket());
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
                buckets_[slot(bucket_of(w.at))].push_back(pack(w.at, bucket_of(w.at), w.id));
            }
            sort_bucket(current_heap_bucket());
        }
    }

    /// Sorts a bucket by (millisecond, id): a counting sort on the millisecond, then each
    /// millisecond's entries by id (often one or two; thousands where a fleet's heartbeats fall
    /// due together).
    void sort_bucket(std::vector<std::uint64_t>& bucket) {
        counts_.assign(static_cast<std::size_t>(kBucketMs) + 1, 0);
        for (const std::uint64_t key : bucket) ++counts_[(key >> 32U) + 1];
        for (std::size_t ms = 1; ms < counts_.size(); ++ms) counts_[ms] += counts_[ms - 1];
        scratch_.resize(bucket.size());
        for (const std::uint64_t key : bucket) scratch_[counts_[key >> 32U]++] = key;
        // counts_[ms] is now the end of that millisecond's entries, and the start of the next's.
        std::uint32_t from = 0;
        for (std::size_t ms = 0; ms < static_cast<std::size_t>(kBucketMs); ++ms) {
            const std::uint32_t to = counts_[ms];
            if (to - from > 1) std::sort(scratch_.begin() + from, scratch_.begin() + to);
            from = to;
        }
        bucket.swap(scratch_);
    }

    std::vector<std::vector<std::uint64_t>> buckets_;
    std::vector<Wake> overflow_;  ///< heap of entries beyond the ring
    std::vector<Wake> late_;      ///< heap of entries pushed into the current bucket, or before it
    std::vector<std::uint32_t> counts_;   ///< sort_bucket's per-millisecond counts
    std::vector<std::uint64_t> scratch_;  ///< sort_bucket's output (then the bucket's old storage)
    std::int64_t current_ = 0;    ///< the bucket being popped
    std::size_t pos_ = 0;         ///< its next entry, once sorted
    bool sorted_ = false;
    std::size_t size_ = 0;
};

}  // namespace consentrig::sim
