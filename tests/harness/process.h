// Test harness building blocks: temporary directories, free ports, child processes and a reaper
// that cleans up after a test process even when it is killed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace cdc::testing {

// A fresh directory under $TMPDIR (or /tmp), removed recursively on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "cdc-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
uint16_t FreePort();

// The last `lines` lines of a text file ("" when it cannot be read), e.g. a log for a failure
// message.
std::string TailFile(const std::string& path, size_t lines = 30);

// Runs `command` through /bin/sh -c and returns its exit status (-1 on signal). Output is
// captured into `output` when given.
int RunShell(const std::string& command, std::string* output = nullptr);

// A child process whose stdout is a pipe we read line by line. The child gets SIGKILL when this
// process dies (PR_SET_PDEATHSIG), so no server outlives its test.
class Process {
 public:
  // argv[0] is the executable path. stderr goes to `stderr_path` (or is inherited when empty).
  Process(std::vector<std::string> argv, const std::string& stderr_path = "");
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Next stdout line within `timeout`, or nullopt on timeout/EOF.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  // Sends `signal` and waits up to `timeout` for exit; SIGKILL after that. Returns the exit
  // status (128+signal when killed by a signal).
  int Stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits for the process to exit by itself; returns its status or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // False once the process has exited (checked now, without blocking; the exit is reaped).
  bool running() { return pid_ > 0 && !Wait(std::chrono::milliseconds(0)).has_value(); }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  std::optional<int> exit_status_;
};

// Runs `cleanup_command` (through /bin/sh) when this test process exits in any way, including
// SIGKILL, unless Disarm() was called first. Implemented as a forked watcher that waits for EOF
// on a pipe only this process holds.
class Reaper {
 public:
  explicit Reaper(const std::string& cleanup_command);
  ~Reaper();  // runs the cleanup now (unless disarmed) and waits for it
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;
  void Disarm();

 private:
  pid_t pid_ = -1;
  int write_fd_ = -1;
};

}  // namespace cdc::testing
