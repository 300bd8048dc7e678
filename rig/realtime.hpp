#pragma once
/// rig/realtime.hpp — best-effort real-time scheduling for the rig's timing-critical threads
/// (board readers, the stimulus loop), so that stimuli and capture stamps are not delayed behind
/// compilers and browsers on a busy bench machine. Without the privilege (CAP_SYS_NICE or an
/// rtprio limit) the thread keeps normal scheduling; the run records which it got.
#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <string>

namespace consentrig::rig {

/// SCHED_FIFO priority the rig asks for: above ordinary threads, below the kernel's own
/// real-time threads (50 and up) so interrupts and their workers still come first.
inline constexpr int kRealtimePriority = 10;

/// Scheduling of the calling thread while it lives; restores the previous policy on exit.
class RealtimeScope {
public:
    RealtimeScope() {
        sched_param old{};
        if (pthread_getschedparam(pthread_self(), &old_policy_, &old) == 0) old_priority_ = old.sched_priority;
        sched_param want{};
        want.sched_priority = kRealtimePriority;
        const int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &want);
        raised_ = rc == 0;
        obtained_ = raised_ ? "SCHED_FIFO " + std::to_string(kRealtimePriority) : "normal (" + std::string(std::strerror(rc)) + ")";
    }
    ~RealtimeScope() {
        if (!raised_) return;
        sched_param old{};
        old.sched_priority = old_priority_;
        (void)pthread_setschedparam(pthread_self(), old_policy_, &old);
    }
    RealtimeScope(const RealtimeScope&) = delete;
    RealtimeScope& operator=(const RealtimeScope&) = delete;
    /// "SCHED_FIFO 10", or "normal (why real-time was not granted)".
    [[nodiscard]] const std::string& obtained() const { return obtained_; }
    [[nodiscard]] bool realtime() const { return raised_; }

private:
    int old_policy_ = 0;
    int old_priority_ = 0;
    bool raised_ = false;
    std::string obtained_;
};

}  // namespace consentrig::rig
