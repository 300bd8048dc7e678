#pragma once
/// sim/event_queue.hpp — the discrete-event engine's agenda: wake-ups ordered by time.
///
/// A calendar queue: time is cut into buckets of kBucketMs; a ring of kBuckets buckets covers
/// the near future, later wake-ups wait in an overflow heap until their bucket comes into
/// range. Only the current bucket is kept as a heap, so pushes and pops touch a few hundred
/// entries that stay in cache instead of a million-entry binary heap — the agenda of a large
/// fleet is dominated by memory traffic, not comparisons. Order is exact and deterministic:
/// always the smallest (time, id); ties go to the smaller id.
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
static_assert(sizeof(Wake) == 16, "agenda entries are per device: keep them at 16 bytes");

class EventQueue {
public:
    static constexpr core::DurationMs kBucketMs = 1024;
    static constexpr std::size_t kBuckets = 1 << 14;  ///< ≈ 4.7 h of near future

    EventQueue() : buckets_(kBuckets) {}

    void reserve(std::size_t n) { overflow_.reserve(n); }

    void push(core::TimeMs at, std::uint32_t id) {
        const Wake w{at, id};
        const std::int64_t b = bucket_of(at);
        if (size_ == 0) current_ = b;  // an empty agenda starts wherever the first entry is
        ++size_;
        if (b <= current_) {  // due now (or late): goes to the current heap
            current_heap().push_back(w);
            std::push_heap(current_heap().begin(), current_heap().end(), std::greater<>{});
        } else if (b < current_ + static_cast<std::int64_t>(kBuckets)) {
            buckets_[slot(b)].push_back(w);
        } else {
            overflow_.push_back(w);
            std::push_heap(overflow_.begin(), overflow_.end(), std::greater<>{});
        }
    }

    [[nodiscard]] bool empty() const { return size_ == 0; }
    [[nodiscard]] std::size_t size() const { return size_; }

    /// The smallest entry; the queue must not be empty.
    [[nodiscard]] const Wake& top() {
        settle();
        return current_heap().front();
    }

    void pop() {
        settle();
        std::pop_heap(current_heap().begin(), current_heap().end(), std::greater<>{});
        current_heap().pop_back();
        --size_;
    }

private:
    [[nodiscard]] static std::int64_t bucket_of(core::TimeMs at) {
        return at >= 0 ? at / kBucketMs : -((-at + kBucketMs - 1) / kBucketMs);
    }
    [[nodiscard]] static std::size_t slot(std::int64_t bucket) {
        return static_cast<std::size_t>(bucket) & (kBuckets - 1);
    }
    std::vector<Wake>& current_heap() { return buckets_[slot(current_)]; }

    /// Advances to the first non-empty bucket and makes it a heap.
    void settle() {
        if (!current_heap().empty()) return;
        while (current_heap().empty()) {
            // Hand a spent bucket's storage back: kept, every bucket would hold the capacity of
            // its busiest second and the ring would weigh more than the fleet.
            std::vector<Wake>().swap(current_heap());
            ++current_;
            // Jump over an empty stretch straight to the overflow's first bucket.
            if (ring_count() == 0 && !overflow_.empty()) current_ = std::max(current_, bucket_of(overflow_.front().at));
            // Bring overflow entries whose bucket is now within the ring into it.
            while (!overflow_.empty() && bucket_of(overflow_.front().at) < current_ + static_cast<std::int64_t>(kBuckets)) {
                const Wake w = overflow_.front();
                std::pop_heap(overflow_.begin(), overflow_.end(), std::greater<>{});
                overflow_.pop_back();
                buckets_[slot(std::max(bucket_of(w.at), current_))].push_back(w);
            }
        }
        std::make_heap(current_heap().begin(), current_heap().end(), std::greater<>{});
    }

    /// Entries in the ring (not in the overflow).
    [[nodiscard]] std::size_t ring_count() const { return size_ - overflow_.size(); }

    std::vector<std::vector<Wake>> buckets_;
    std::vector<Wake> overflow_;  ///< heap of entries beyond the ring
    std::int64_t current_ = 0;  ///< the bucket whose entries form the current heap
    std::size_t size_ = 0;
};

}  // namespace consentrig::sim
