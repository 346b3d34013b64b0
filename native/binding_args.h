// Argument reading for the bindings: every binding takes one options object, and every
// field is checked (type → TypeError, size/range → RangeError, both naming the field)
// before any kernel touches memory. Typed arrays are read in place (subarray offsets
// honoured) and pinned by reference so async work keeps them alive.
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
  Args(const Napi::CallbackInfo& info, const char* function);

  int64_t integer(const char* name, int64_t min, int64_t max);
  double number(const char* name, double min, double max);
  double numberOr(const char* name, double min, double max, double fallback);
  bool booleanOr(const char* name, bool fallback);
  std::string choice(const char* name, std::initializer_list<const char*> options);
  bool has(const char* name) const;

  // Typed arrays of exactly `length` elements.
  float* f32(const char* name, int64_t length);
  float* f32Optional(const char* name, int64_t length);  // null when absent
  int32_t* i32(const char* name, int64_t length);
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

  // What an async worker must keep until it settles: the pinned objects and the index copies.
  struct Owned {
    std::vector<Napi::ObjectReference> pins;
    std::vector<std::unique_ptr<int32_t[]>> copies;
  };
  Owned take() { return Owned{std::move(pins_), std::move(copies_)}; }
  Napi::Env env() const { return env_; }

 private:
  Napi::Value field(const char* name) const;
  template <class T, napi_typedarray_type kType>
  T* typedArray(const char* name, int64_t length, bool optional, const char* typeName);

  Napi::Env env_;
  Napi::Object object_;
  std::string function_;
  std::string prefix_;  // "shape." while reading the nested shape
  std::vector<Napi::ObjectReference> pins_;
  std::vector<std::unique_ptr<int32_t[]>> copies_;
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
