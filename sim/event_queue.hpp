#pragma once
/// sim/event_queue.hpp — the discrete-event engine's agenda: wake-ups ordered by time.
///
/// A binary min-heap of (time, id); ties go to the smaller id, so the order of events — and
/// with it every result — is deterministic. Entries are 16 bytes. The fleet runner keeps one
/// live entry per device and drops stale ones lazily (an entry whose time no longer matches
/// the device's due time); bench/fleet drives the same queue in its fixed-tick mode.
#include <cstdint>
#include <functional>
#include <queue>
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
    void reserve(std::size_t n) {
        std::vector<Wake> storage;
        storage.reserve(n);
        heap_ = Heap(std::greater<>{}, std::move(storage));
    }
    void push(core::TimeMs at, std::uint32_t id) { heap_.push(Wake{at, id}); }
    [[nodiscard]] bool empty() const { return heap_.empty(); }
    [[nodiscard]] const Wake& top() const { return heap_.top(); }
    void pop() { heap_.pop(); }
    [[nodiscard]] std::size_t size() const { return heap_.size(); }

private:
    using Heap = std::priority_queue<Wake, std::vector<Wake>, std::greater<>>;
    Heap heap_;
};

}  // namespace consentrig::sim
