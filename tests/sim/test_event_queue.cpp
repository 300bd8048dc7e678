#include "sim/event_queue.hpp"

#include <gtest/gtest.h>

#include <queue>

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
