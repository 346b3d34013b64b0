// Sync / async binding machinery shared by every file of ops. An op is a struct with
//   static constexpr const char* kName;  void parse(Args&);  Status run();  Napi::Value result(Napi::Env);
// parse() reads and checks every argument (main thread), run() calls the Napi-free kernel
// (any thread), result() converts the outcome (main thread). exportOp<Op> registers both
// `name` (synchronous) and `nameAsync` (Promise, libuv thread pool, buffers pinned, arrays on
// plain ArrayBuffers copied: see binding_args.h).
#pragma once
#include <napi.h>

#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "binding_args.h"
#include "kernels.h"

namespace admm::binding {

inline const char* statusCode(StatusCode c) {
  switch (c) {
    case StatusCode::kNotPositiveDefinite: return "ERR_NOT_POSITIVE_DEFINITE";
    case StatusCode::kNonFinite: return "ERR_NON_FINITE";
    case StatusCode::kOutOfMemory: return "ERR_OUT_OF_MEMORY";
    case StatusCode::kInternal:
    case StatusCode::kOk: break;  // never an error's status
  }
  return "ERR_INTERNAL";
}

inline Napi::Error statusError(Napi::Env env, const Status& s, const char* function) {
  Napi::Error e = Napi::Error::New(env, std::string(function) + ": " + s.message);
  e.Set("code", Napi::String::New(env, statusCode(s.code)));
  return e;
}

// Kernels run one at a time, process-wide (async twins on the libuv pool, sync calls, every
// worker thread's instance of the addon). Each kernel already uses every configured thread,
// and OpenBLAS's thread count is process-wide: the benchmarks' sgemmThreaded, which turns
// OpenBLAS's own threads on for its call (row_parallel.h), would otherwise change the thread
// count under a concurrent kernel's products, and OpenBLAS rounds differently with 1 and 2
// threads (same seed, same result).
std::mutex& kernelMutex();

template <class Op>
Status runGuarded(Op& op) {
  try {
    std::lock_guard<std::mutex> oneKernelAtATime(kernelMutex());
    return op.run();
  } catch (const std::bad_alloc&) {
    return Status::error(StatusCode::kOutOfMemory, "out of memory");
  } catch (const std::exception& e) {  // e.g. std::system_error from the threading runtime
    return Status::error(StatusCode::kInternal, std::string("internal error: ") + e.what());
  }
}

inline Napi::Error outOfMemory(Napi::Env env, const char* function) {
  return statusError(env, Status::error(StatusCode::kOutOfMemory, "out of memory"), function);
}

template <class Op>
Napi::Value runSync(const Napi::CallbackInfo& info) {
  Args args(info, Op::kName);
  Op op;
  try {
    op.parse(args);  // index copies
  } catch (const std::bad_alloc&) {
    throw outOfMemory(info.Env(), Op::kName);
  }
  args.requireUnchanged();
  const Status status = runGuarded(op);
  if (!status.ok()) throw statusError(info.Env(), status, Op::kName);
  return op.result(info.Env());
}

template <class Op>
class Worker : public Napi::AsyncWorker {
 public:
  Worker(Napi::Env env, Op op, Args::Owned owned)
      : Napi::AsyncWorker(env, Op::kName), op_(std::move(op)), owned_(std::move(owned)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override { status_ = runGuarded(op_); }  // no Napi here: worker thread
  void OnOK() override {
    Napi::HandleScope scope(Env());
    // What the kernel wrote reaches the arrays (as a sync call's would, whatever its status)
    // only if every one of them is still there: none is written into a moved or shrunk buffer.
    const Args::Snapshot* moved = owned_.moved(Env());
    if (!moved) owned_.writeBack();
    if (!status_.ok()) deferred_.Reject(statusError(Env(), status_, Op::kName).Value());
    else if (moved)
      deferred_.Reject(Napi::RangeError::New(Env(), std::string(Op::kName) + ": " + moved->name +
                                                        " must be left attached until the call settles (its buffer was "
                                                        "detached, transferred or resized while the kernel ran; no "
                                                        "output was written)")
                           .Value());
    else deferred_.Resolve(op_.result(Env()));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Op op_;
  Args::Owned owned_;  // keeps every pinned buffer and every copy alive until settled
  Napi::Promise::Deferred deferred_;
  Status status_;
};

template <class Op>
Napi::Value runAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto rejected = [&](const Napi::Error& e) {  // validation errors reject instead of throwing
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(e.Value());
    return deferred.Promise();
  };
  try {
    Args args(info, Op::kName, true);
    Op op;
    op.parse(args);
    args.requireUnchanged();
    auto* worker = new Worker<Op>(env, std::move(op), args.take());
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  } catch (const Napi::Error& e) {
    return rejected(e);
  } catch (const std::bad_alloc&) {  // the copies of plain ArrayBuffer arrays
    return rejected(outOfMemory(env, Op::kName));
  }
}

template <class Op>
void exportOp(Napi::Env env, Napi::Object exports) {
  exports.Set(Op::kName, Napi::Function::New(env, runSync<Op>, Op::kName));
  const std::string asyncName = std::string(Op::kName) + "Async";
  exports.Set(asyncName, Napi::Function::New(env, runAsync<Op>, asyncName));
}

// Each binding_*.cpp file registers its ops here; module.cpp calls them all.
void registerAdmmOps(Napi::Env env, Napi::Object exports);
void registerResyncOps(Napi::Env env, Napi::Object exports);
void registerBpttOps(Napi::Env env, Napi::Object exports);
// binding_internal.cpp: the `internal` object (test hooks and the benchmarks' sgemmThreaded).
void registerInternalOps(Napi::Env env, Napi::Object exports);
// binding_memory.cpp: the kernels' scratch memory (measured, released).
void registerMemoryOps(Napi::Env env, Napi::Object exports);

}  // namespace admm::binding
