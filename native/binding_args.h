// Argument reading for the bindings: every binding takes one options object, and every
// field is checked (type → TypeError, size/range → RangeError, both naming the field)
// before any kernel touches memory. Typed arrays are read in place (subarray offsets
// honoured) and pinned by reference so async work keeps them alive.
//
// An async twin runs its kernel on a libuv thread while JavaScript goes on, and JavaScript can
// detach a plain ArrayBuffer then (postMessage or structuredClone transfer, ArrayBuffer
// transfer(), resize(), WebAssembly memory growth): its memory moves to a new owner, which may
// free it in another isolate, and a pin on the old typed array does not hold it. Node-API has no
// way to hold a backing store or to make a buffer non-detachable, so an async twin works on
// native copies of every array on a plain ArrayBuffer: the inputs are copied before it is queued,
// and the arrays it writes are copied back when it settles, if they are still attached with the
// same memory and length (otherwise it rejects and writes none of them). SharedArrayBuffer
// memory cannot be detached, shrunk or moved, and the pin keeps it alive: it is used in place,
// which is why the trainers keep their large buffers on SharedArrayBuffers. Sync calls run no
// JavaScript until they return and always work in place.
#pragma once
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "kernels.h"

namespace admm::binding {

class Args {
 public:
  // `async`: the op runs on a libuv thread, so plain ArrayBuffer memory is read through copies.
  Args(const Napi::CallbackInfo& info, const char* function, bool async = false);

  int64_t integer(const char* name, int64_t min, int64_t max);
  double number(const char* name, double min, double max);
  double numberOr(const char* name, double min, double max, double fallback);
  bool booleanOr(const char* name, bool fallback);
  std::string choice(const char* name, std::initializer_list<const char*> options);
  bool has(const char* name) const;

  // Typed arrays of exactly `length` elements that the kernel only reads (an async twin does not
  // copy them back, hence const).
  const float* f32(const char* name, int64_t length);
  const float* f32Optional(const char* name, int64_t length);  // null when absent
  const int32_t* i32(const char* name, int64_t length);
  // Typed arrays the kernel writes (and may read first): an async twin copies them back.
  float* f32Out(const char* name, int64_t length);
  float* f32OutOptional(const char* name, int64_t length);
  // An optional stop flag: an Int32Array of one element on a SharedArrayBuffer (a copy, as an
  // async twin makes of plain buffers, would never see the caller set it); null when absent.
  const int32_t* cancelFlag(const char* name);
  // Index arrays (ids, labels, batch) are copied before they are validated, so neither a getter
  // run later during parsing, another thread (SharedArrayBuffer) nor the caller of an async twin
  // can change an index after its bounds check. Every element must lie in [0, bound).
  const int32_t* indices(const char* name, int64_t length, int64_t bound, const char* what);

  // The model/data shape from the nested `shape` object.
  Shape shape();
  // `x` (Float32Array [N,T,d]) or `ids` (Int32Array [N,T], values in [0, d)).
  Inputs inputs(const Shape& s);
  // The `loss` field: 'softmax-cross-entropy' or 'squared-error'.
  Loss loss();
  // Class labels in [0, K) (Int32Array [N, L]) or regression values (Float32Array [N, L, K]).
  Targets targets(const Shape& s, Loss loss);

  // Rejects overlapping memory between an output and an input the kernel still reads.
  void requireDistinct(const char* outName, const void* out, int64_t outBytes, const char* inName,
                       const void* in, int64_t inBytes);
  // A float buffer by name and length (null pointers are skipped).
  struct Region {
    const char* name;
    const float* data;
    int64_t floats;
  };
  // Every output distinct from every input and from every other output: a kernel that writes
  // into memory it still reads would return a wrong result without any error.
  void requireDisjoint(std::initializer_list<Region> outputs, std::initializer_list<Region> inputs);

  // Every typed array read is still attached, with the data pointer and length it was checked
  // with: a getter or Proxy trap that ran later during parsing may have detached or resized it.
  void requireUnchanged();

  [[noreturn]] void typeError(const std::string& name, const std::string& expected) const;
  [[noreturn]] void rangeError(const std::string& name, const std::string& expected) const;

  // The native copy an async twin works on instead of an array on a plain ArrayBuffer.
  struct Snapshot {
    std::string name;
    Napi::ObjectReference array;
    void* memory;  // the array's memory when it was checked
    size_t bytes;
    std::unique_ptr<unsigned char[]> copy;
    bool written;
  };
  // What an async worker must keep until it settles: the pinned objects and the copies.
  struct Owned {
    std::vector<Napi::ObjectReference> pins;
    std::vector<std::unique_ptr<int32_t[]>> copies;
    std::vector<Snapshot> snapshots;
    // The first written array that is no longer attached with its memory and length, or null.
    const Snapshot* moved(Napi::Env env) const;
    // Copies the written arrays back (main thread, after moved() found none).
    void writeBack() const;
  };
  // Fills the copies from the arrays (after requireUnchanged: the values of a complete, checked
  // argument list) and hands everything an async worker keeps over to it.
  Owned take();
  Napi::Env env() const { return env_; }

 private:
  enum class Access { kRead, kWrite, kInPlace };
  Napi::Value field(const char* name) const;
  template <class T, napi_typedarray_type kType>
  T* typedArray(const char* name, int64_t length, bool optional, const char* typeName, Access access);
  // The memory a pointer handed out by typedArray stands for (the array's, not its copy's).
  const void* memoryOf(const void* p) const;

  Napi::Env env_;
  Napi::Object object_;
  std::string function_;
  std::string prefix_;  // "shape." while reading the nested shape
  std::vector<Napi::ObjectReference> pins_;
  std::vector<std::unique_ptr<int32_t[]>> copies_;
  bool async_;
  std::vector<Snapshot> snapshots_;
  struct Checked {
    std::string name;
    Napi::Value array;  // a handle of the current call's scope
    void* data;
    size_t length;
  };
  std::vector<Checked> checked_;
};

// Product of sizes, or a RangeError when it exceeds `limit`.
int64_t checkedProduct(Args& args, const char* what, std::initializer_list<int64_t> factors, int64_t limit);

}  // namespace admm::binding
