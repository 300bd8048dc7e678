#include "sim/event_queue.hpp"

#include <gtest/gtest.h>

#include <queue>
#include <utility>
#include <vector>

#include "sim/rng.hpp"

using namespace consentrig::sim;
namespace core = consentrig::core;

// GIVEN random pushes interleaved with pops (near, far beyond the ring, and in the past)
// WHEN the calendar queue and a plain binary heap are driven alike
// THEN they pop exactly the same sequence.
TEST(EventQueue, GivenRandomWorkload_WhenComparedWithABinaryHeap_ThenSameOrder) {
    EventQueue q;
    std::priority_queue<Wake, std::vector<Wake>, std::greater<>> reference;
    Rng rng(42);
    core::TimeMs now = 1'767'571'200'000;
    for (int step = 0; step < 200'000; ++step) {
        const double u = rng.uniform();
        if (u < 0.55 || reference.empty()) {
            core::DurationMs ahead = 0;
            const double kind = rng.uniform();
            if (kind < 0.6) ahead = static_cast<core::DurationMs>(rng.below(5'000));
            else if (kind < 0.9) ahead = static_cast<core::DurationMs>(rng.below(3'600'000));
            else ahead = static_cast<core::DurationMs>(rng.below(7LL * 86'400'000));  // beyond the ring
            const auto id = static_cast<std::uint32_t>(rng.below(1000));
            q.push(now + ahead, id);
            reference.push(Wake{now + ahead, id});
        } else {
            ASSERT_FALSE(q.empty());
            const Wake a = q.top();
            const Wake b = reference.top();
            ASSERT_EQ(a.at, b.at) << "step " << step;
            ASSERT_EQ(a.id, b.id) << "step " << step;
            q.pop();
            reference.pop();
            now = a.at;
        }
        ASSERT_EQ(q.size(), reference.size());
    }
    while (!reference.empty()) {
        ASSERT_EQ(q.top().at, reference.top().at);
        ASSERT_EQ(q.top().id, reference.top().id);
        q.pop();
        reference.pop();
    }
    EXPECT_TRUE(q.empty());
}

TEST(EventQueue, GivenEqualTimes_WhenPopped_ThenSmallerIdFirst) {
    EventQueue q;
    q.push(5000, 7);
    q.push(5000, 3);
    q.push(4999, 9);
    EXPECT_EQ(q.top().id, 9u);
    q.pop();
    EXPECT_EQ(q.top().id, 3u);
    q.pop();
    EXPECT_EQ(q.top().id, 7u);
}

// GIVEN a bucket's worth of wake-ups (one bucket) and no pushes in between
// WHEN the agenda is asked what comes `ahead` entries after the top
// THEN it names exactly the id popped that many entries later (the runner prefetches by it)
TEST(EventQueue, GivenNoPushesInBetween_WhenAskedForUpcoming_ThenItIsWhatPopsLater) {
    EventQueue q;
    Rng rng(7);
    const core::TimeMs bucket_start = 10 * EventQueue::kBucketMs;  // the hint stays within one bucket
    for (std::uint32_t id = 0; id < 500; ++id) {
        q.push(bucket_start + static_cast<core::TimeMs>(rng.below(static_cast<std::uint64_t>(EventQueue::kBucketMs))), id);
    }
    static_cast<void>(q.top());
    std::vector<std::uint32_t> hinted;
    std::vector<std::uint32_t> popped;
    constexpr std::size_t kAhead = 4;
    while (!q.empty()) {
        hinted.push_back(q.upcoming(kAhead));
        popped.push_back(q.top().id);
        q.pop();
    }
    for (std::size_t k = 0; k + kAhead < popped.size(); ++k) ASSERT_EQ(hinted[k], popped[k + kAhead]) << "pop " << k;
    for (std::size_t k = popped.size() - kAhead; k < popped.size(); ++k) EXPECT_EQ(hinted[k], EventQueue::kNoId);
}

// GIVEN an agenda drained empty, whose last bucket's ring slot a later bucket reuses
// WHEN new wake-ups arrive a whole ring later
// THEN only they pop: nothing spent comes back
TEST(EventQueue, GivenDrainedAgenda_WhenRefilledARingLater_ThenNothingSpentReturns) {
    EventQueue q;
    q.push(1'000, 1);
    q.push(1'001, 2);
    q.pop();
    q.pop();
    ASSERT_TRUE(q.empty());
    const core::TimeMs later = 1'000 + static_cast<core::TimeMs>(EventQueue::kBuckets) * EventQueue::kBucketMs;
    q.push(later + 5, 3);
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q.top().id, 3u);
    EXPECT_EQ(q.top().at, later + 5);
    q.pop();
    EXPECT_TRUE(q.empty());
}

// GIVEN wake-ups pushed in no time order before the first pop, spread from now to a week
//       ahead (a fleet's first wake-ups, pushed device by device)
// WHEN the agenda is drained
// THEN it pops them in the order of a plain binary heap
TEST(EventQueue, GivenFirstWakeupsInDeviceOrder_WhenDrained_ThenSameOrderAsABinaryHeap) {
    for (const std::uint64_t seed : {1U, 2U, 3U}) {
        EventQueue q;
        std::priority_queue<Wake, std::vector<Wake>, std::greater<>> reference;
        Rng rng(seed);
        const core::TimeMs now = 1'767'571'200'000;
        for (std::uint32_t id = 0; id < 20'000; ++id) {
            const double kind = rng.uniform();
            const auto span = kind < 0.5 ? 10'000U : kind < 0.9 ? 3'600'000U : 7U * 86'400'000U;
            const core::TimeMs at = now + static_cast<core::TimeMs>(rng.below(span));
            q.push(at, id);
            reference.push(Wake{at, id});
        }
        while (!reference.empty()) {
            ASSERT_EQ(q.top().at, reference.top().at) << "seed " << seed;
            ASSERT_EQ(q.top().id, reference.top().id) << "seed " << seed;
            q.pop();
            reference.pop();
        }
        EXPECT_TRUE(q.empty());
    }
}

// GIVEN entries in the ring, in the overflow beyond it and in the late heap beside the current
//       bucket
// WHEN the agenda is cleared and refilled
// THEN only the new entries pop, in order
TEST(EventQueue, GivenEntriesEverywhere_WhenClearedAndRefilled_ThenOnlyTheNewOnesPop) {
    EventQueue q;
    const core::TimeMs far = static_cast<core::TimeMs>(EventQueue::kBuckets) * EventQueue::kBucketMs * 2;
    q.push(10, 1);
    q.push(20, 2);
    q.push(far, 3);
    EXPECT_EQ(q.top().id, 1u);  // the first bucket is now sorted: a push into it goes to the late heap
    q.push(15, 4);
    ASSERT_EQ(q.size(), 4u);
    q.clear();
    EXPECT_TRUE(q.empty());
    q.push(far + 7, 5);
    q.push(30, 6);
    q.push(30, 2);
    std::vector<std::pair<core::TimeMs, std::uint32_t>> popped;
    while (!q.empty()) {
        popped.emplace_back(q.top().at, q.top().id);
        q.pop();
    }
    EXPECT_EQ(popped, (std::vector<std::pair<core::TimeMs, std::uint32_t>>{{30, 2}, {30, 6}, {far + 7, 5}}));
}
