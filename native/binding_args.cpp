#include "binding_args.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "blas.h"

namespace admm::binding {
namespace {

// A typed array over a SharedArrayBuffer (napi_is_arraybuffer is false for those): memory that
// cannot be detached, shrunk or moved, and that the pinned typed array keeps alive.
bool onSharedMemory(napi_env env, napi_value typedArray) {
  napi_value buffer = nullptr;
  bool plain = true;
  if (napi_get_typedarray_info(env, typedArray, nullptr, nullptr, nullptr, &buffer, nullptr) != napi_ok) return false;
  if (napi_is_arraybuffer(env, buffer, &plain) != napi_ok) return false;
  return !plain;
}
}  // namespace

Args::Args(const Napi::CallbackInfo& info, const char* function, bool async)
    : env_(info.Env()), function_(function), async_(async) {
  if (info.Length() < 1 || !info[0].IsObject() || info[0].IsArray() || info[0].IsTypedArray())
    typeError("options", "an object");
  object_ = info[0].As<Napi::Object>();
  pins_.push_back(Napi::Persistent(object_));
}

void Args::typeError(const std::string& name, const std::string& expected) const {
  throw Napi::TypeError::New(env_, function_ + ": " + prefix_ + name + " must be " + expected);
}

void Args::rangeError(const std::string& name, const std::string& expected) const {
  throw Napi::RangeError::New(env_, function_ + ": " + prefix_ + name + " must be " + expected);
}

Napi::Value Args::field(const char* name) const { return object_.Get(name); }

bool Args::has(const char* name) const {
  Napi::Value v = field(name);
  return !v.IsUndefined() && !v.IsNull();
}

double Args::number(const char* name, double min, double max) {
  Napi::Value v = field(name);
  if (!v.IsNumber()) typeError(name, "a number");
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(x) || x < min || x > max) {
    std::ostringstream os;
    os << "a finite number in [" << min << ", " << max << "], got " << x;
    rangeError(name, os.str());
  }
  return x;
}

double Args::numberOr(const char* name, double min, double max, double fallback) {
  return has(name) ? number(name, min, max) : fallback;
}

int64_t Args::integer(const char* name, int64_t min, int64_t max) {
  Napi::Value v = field(name);
  if (!v.IsNumber()) typeError(name, "an integer");
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(x) || std::floor(x) != x || x < static_cast<double>(min) || x > static_cast<double>(max)) {
    std::ostringstream os;
    os << "an integer in [" << min << ", " << max << "], got " << x;
    rangeError(name, os.str());
  }
  return static_cast<int64_t>(x);
}

bool Args::booleanOr(const char* name, bool fallback) {
  if (!has(name)) return fallback;
  Napi::Value v = field(name);
  if (!v.IsBoolean()) typeError(name, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string Args::choice(const char* name, std::initializer_list<const char*> options) {
  Napi::Value v = field(name);
  std::string list;
  for (const char* o : options) list += (list.empty() ? "'" : ", '") + std::string(o) + "'";
  if (!v.IsString()) typeError(name, "one of " + list);
  const std::string s = v.As<Napi::String>().Utf8Value();
  for (const char* o : options)
    if (s == o) return s;
  rangeError(name, "one of " + list + ", got '" + s + "'");
}

template <class T, napi_typedarray_type kType>
T* Args::typedArray(const char* name, int64_t length, bool optional, const char* typeName, Access access) {
  Napi::Value v = field(name);
  if (optional && (v.IsUndefined() || v.IsNull())) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kType)
    typeError(name, std::string("a ") + typeName);
  auto array = v.As<Napi::TypedArrayOf<T>>();
  if (static_cast<int64_t>(array.ElementLength()) != length) {
    std::ostringstream os;
    os << "of length " << length << ", got " << array.ElementLength();
    if (array.ElementLength() == 0 && length > 0) os << " (detached or empty buffer?)";
    rangeError(name, os.str());
  }
  pins_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  checked_.push_back({prefix_ + name, v, array.Data(), array.ElementLength()});
  // A zero-length request still needs a non-null pointer for the kernels' contracts.
  static T empty{};
  if (length == 0) return &empty;
  if (!async_ || access == Access::kInPlace || onSharedMemory(env_, v)) return array.Data();
  const size_t bytes = sizeof(T) * static_cast<size_t>(length);  // filled by take()
  snapshots_.push_back({prefix_ + name, Napi::Persistent(v.As<Napi::Object>()), array.Data(), bytes,
                        std::unique_ptr<unsigned char[]>(new unsigned char[bytes]), access == Access::kWrite});
  return reinterpret_cast<T*>(snapshots_.back().copy.get());
}

const float* Args::f32(const char* name, int64_t length) {
  return typedArray<float, napi_float32_array>(name, length, false, "Float32Array", Access::kRead);
}
const float* Args::f32Optional(const char* name, int64_t length) {
  return typedArray<float, napi_float32_array>(name, length, true, "Float32Array", Access::kRead);
}
float* Args::f32Out(const char* name, int64_t length) {
  return typedArray<float, napi_float32_array>(name, length, false, "Float32Array", Access::kWrite);
}
float* Args::f32OutOptional(const char* name, int64_t length) {
  return typedArray<float, napi_float32_array>(name, length, true, "Float32Array", Access::kWrite);
}
const int32_t* Args::i32(const char* name, int64_t length) {
  return typedArray<int32_t, napi_int32_array>(name, length, false, "Int32Array", Access::kRead);
}

const int32_t* Args::cancelFlag(const char* name) {
  if (!has(name)) return nullptr;
  const int32_t* flag = typedArray<int32_t, napi_int32_array>(name, 1, false, "Int32Array", Access::kInPlace);
  if (!onSharedMemory(env_, checked_.back().array))
    typeError(name, "an Int32Array of one element on a SharedArrayBuffer");
  return flag;
}

const int32_t* Args::indices(const char* name, int64_t length, int64_t bound, const char* what) {
  // Copied right here, on the main thread, whether the op is async or not.
  const int32_t* source = typedArray<int32_t, napi_int32_array>(name, length, false, "Int32Array", Access::kInPlace);
  copies_.push_back(std::make_unique<int32_t[]>(static_cast<size_t>(std::max<int64_t>(length, 1))));
  int32_t* copy = copies_.back().get();
  std::copy(source, source + length, copy);
  for (int64_t k = 0; k < length; ++k)
    if (copy[k] < 0 || copy[k] >= bound)
      rangeError(name, std::string(what) + " in [0, " + std::to_string(bound) + "), got " + std::to_string(copy[k]) +
                           " at index " + std::to_string(k));
  return copy;
}

void Args::requireUnchanged() {
  for (const Checked& c : checked_) {
    void* data = nullptr;
    size_t length = 0;
    napi_status status = napi_get_typedarray_info(env_, c.array, nullptr, &length, &data, nullptr, nullptr);
    if (status != napi_ok || data != c.data || length != c.length)
      throw Napi::RangeError::New(env_, function_ + ": " + c.name +
                                            " must be left attached and unchanged while the arguments are read "
                                            "(a getter or Proxy trap detached or replaced its buffer)");
  }
}

Args::Owned Args::take() {
  for (Snapshot& s : snapshots_) std::memcpy(s.copy.get(), s.memory, s.bytes);
  return Owned{std::move(pins_), std::move(copies_), std::move(snapshots_)};
}

const Args::Snapshot* Args::Owned::moved(Napi::Env env) const {
  for (const Snapshot& s : snapshots) {
    if (!s.written) continue;
    void* data = nullptr;
    size_t length = 0;
    napi_typedarray_type type;
    if (napi_get_typedarray_info(env, s.array.Value(), &type, &length, &data, nullptr, nullptr) != napi_ok ||
        data != s.memory || length * 4 != s.bytes)  // Float32Array and Int32Array: 4 bytes an element
      return &s;
  }
  return nullptr;
}

void Args::Owned::writeBack() const {
  for (const Snapshot& s : snapshots)
    if (s.written) std::memcpy(s.memory, s.copy.get(), s.bytes);
}

const void* Args::memoryOf(const void* p) const {
  for (const Snapshot& s : snapshots_)
    if (s.copy.get() == p) return s.memory;
  return p;
}

int64_t checkedProduct(Args& args, const char* what, std::initializer_list<int64_t> factors, int64_t limit) {
  int64_t p = 1;
  for (int64_t f : factors) {
    if (f != 0 && p > limit / f) args.rangeError(what, "at most " + std::to_string(limit) + " elements");
    p *= f;
  }
  return p;
}

Shape Args::shape() {
  Napi::Value v = field("shape");
  if (!v.IsObject()) typeError("shape", "an object {N, T, d, h, K, everyStep}");
  // Read the nested object with this reader, then restore it.
  struct Restore {
    Args& a;
    Napi::Object saved;
    ~Restore() { a.object_ = saved; a.prefix_.clear(); }
  } restore{*this, object_};
  object_ = v.As<Napi::Object>();
  prefix_ = "shape.";
  Args& nested = *this;
  Shape s;
  s.N = nested.integer("N", 1, kMaxBlasInt);
  s.T = nested.integer("T", 1, kMaxBlasInt);
  s.d = nested.integer("d", 1, kMaxBlasInt);
  s.h = nested.integer("h", 1, 1 << 16);
  s.K = nested.integer("K", 1, 1 << 20);
  s.everyStep = nested.booleanOr("everyStep", false);
  // Row counts and leading dimensions are BLAS ints.
  checkedProduct(nested, "N*T", {s.N, s.T}, kMaxBlasInt);
  checkedProduct(nested, "T*h", {s.T, s.h}, kMaxBlasInt);
  checkedProduct(nested, "T*d", {s.T, s.d}, kMaxBlasInt);
  checkedProduct(nested, "T*K", {s.T, s.K}, kMaxBlasInt);
  checkedProduct(nested, "N*T*h", {s.N, s.T, s.h}, int64_t{1} << 40);
  checkedProduct(nested, "N*T*K", {s.N, s.T, s.K}, int64_t{1} << 40);
  checkedProduct(nested, "h*(d+h+1)", {s.h, s.d + s.h + 1}, int64_t{1} << 31);
  return s;
}

Inputs Args::inputs(const Shape& s) {
  Inputs in;
  const bool hasX = has("x"), hasIds = has("ids");
  if (hasX == hasIds) typeError("x / ids", "exactly one of x (Float32Array) or ids (Int32Array)");
  if (hasX) {
    in.x = f32("x", checkedProduct(*this, "x", {s.N, s.T, s.d}, int64_t{1} << 40));
    return in;
  }
  in.ids = indices("ids", s.N * s.T, s.d, "token ids");
  return in;
}

Loss Args::loss() {
  return choice("loss", {"softmax-cross-entropy", "squared-error"}) == "squared-error" ? Loss::kSquaredError
                                                                                      : Loss::kSoftmaxCrossEntropy;
}

Targets Args::targets(const Shape& s, Loss loss) {
  Targets y;
  if (loss == Loss::kSquaredError) {
    y.values = f32("values", s.N * s.L() * s.K);
    return y;
  }
  y.labels = indices("labels", s.N * s.L(), s.K, "class ids");
  return y;
}

void Args::requireDistinct(const char* outName, const void* out, int64_t outBytes, const char* inName,
                           const void* in, int64_t inBytes) {
  // Compared in the callers' memory, so that an async twin refuses what its sync twin refuses.
  const auto o = reinterpret_cast<uintptr_t>(memoryOf(out)), i = reinterpret_cast<uintptr_t>(memoryOf(in));
  if (outBytes > 0 && inBytes > 0 && o < i + static_cast<uintptr_t>(inBytes) && i < o + static_cast<uintptr_t>(outBytes))
    rangeError(outName, std::string("memory distinct from ") + inName);
}

void Args::requireDisjoint(std::initializer_list<Region> outputs, std::initializer_list<Region> inputs) {
  for (auto o = outputs.begin(); o != outputs.end(); ++o) {
    if (!o->data) continue;
    for (const Region& i : inputs)
      if (i.data) requireDistinct(o->name, o->data, 4 * o->floats, i.name, i.data, 4 * i.floats);
    for (auto other = o + 1; other != outputs.end(); ++other)
      if (other->data) requireDistinct(o->name, o->data, 4 * o->floats, other->name, other->data, 4 * other->floats);
  }
}

}  // namespace admm::binding
