#pragma once
/// rig/realtime.hpp — best-effort real-time scheduling for the rig's timing-critical threads
/// (board readers, the stimulus loop), so that stimuli and capture stamps are not delayed behind
/// compilers and browsers on a busy bench machine. Without the privilege (CAP_SYS_NICE or an
/// rtprio limit) the thread keeps normal scheduling; the run records which it got.
#include <pthread.h>
#include <sched.h>

#include <cerrno>
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
        // Linux: pid 0 is the calling thread. SCHED_RESET_ON_FORK: boards the rig starts (host
        // stubs, QEMU — which spins) run under normal scheduling, never real-time.
        raised_ = sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &want) == 0;
        obtained_ = raised_ ? "SCHED_FIFO " + std::to_string(kRealtimePriority) : "normal (" + std::string(std::strerror(errno)) + ")";
    }
    ~RealtimeScope() {
        if (!raised_) return;
        sched_param old{};
        old.sched_priority = old_priority_;
        (void)sched_setscheduler(0, old_policy_, &old);
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
