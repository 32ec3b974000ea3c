/* owf.h: the C API of the owf library (C99), for programs and FFI (Rust, Go,
 * Julia, ctypes) that cannot use the C++ headers. It opens every format the
 * library reads (owf, safetensors and HF shard sets, NumPy, GGUF, PyTorch,
 * ONNX), detected by content, and reads tensors by index.
 *
 * Errors: fallible calls take an `owf_error** err`. On failure they store a
 * new error there (when err is not NULL) that the caller owns and releases
 * with owf_error_free; on success they store NULL. Messages are owf's own:
 * they name the file, the tensor or key and the byte offset where known.
 *
 * Threads: an owf_model is immutable once opened, so every call that takes a
 * `const owf_model*` may be made from several threads at once without
 * external synchronization. owf_close must not race with any other call on
 * the same model. owf_error values are not shared, so need no locking.
 *
 * Nothing here prints, aborts or throws: bad input gives an error value.
 */
#ifndef OWF_H_
#define OWF_H_

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define OWF_C_API __attribute__((visibility("default")))
#else
#define OWF_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* An open model. Create with owf_open, destroy with owf_close. */
typedef struct owf_model owf_model;

/* A failure: NULL means success. Owned by whoever received it. */
typedef struct owf_error owf_error;

/* Why a call failed: the library's error codes. */
typedef enum {
  OWF_OK = 0,
  OWF_INVALID_ARGUMENT = 1, /* the caller asked for something impossible */
  OWF_CORRUPTION = 2,       /* the input violates its format */
  OWF_NOT_SUPPORTED = 3,    /* valid input that owf deliberately does not handle */
  OWF_IO_ERROR = 4,         /* the operating system refused */
  OWF_NOT_FOUND = 5         /* a named tensor, key or file does not exist */
} owf_error_code;

/* Describes one tensor. Every pointer is owned by the model and stays valid
 * until owf_close. */
typedef struct {
  const char* name;      /* UTF-8, unique within the model */
  const char* dtype;     /* the spec's dtype names, e.g. "f32", "bf16", "q4_0" */
  uint32_t rank;         /* number of dimensions; 0 for a scalar */
  const uint64_t* shape; /* rank sizes, outermost first (C order) */
  uint64_t nbytes;       /* decoded bytes */
  const char* encoding;  /* how it is stored, e.g. "raw", "zstd+bytegroup", "zstd+lanes" */
} owf_tensor_info;

/* Opens the file (or HF shard set / folder) at `path`, in any format the
 * library reads, detected by its content. Returns NULL and sets *err on
 * failure. The caller owns the model and must release it with owf_close. Raw
 * tensors are memory-mapped, not read, so opening is cheap. */
OWF_C_API owf_model* owf_open(const char* path, owf_error** err);

/* Like owf_open, reading only the subtree `key` (dotted, e.g. "state_dict")
 * of formats with nested containers (PyTorch checkpoints). key may be NULL or
 * "" for everything; other formats ignore it. */
OWF_C_API owf_model* owf_open_key(const char* path, const char* key, owf_error** err);

/* Releases the model and everything it owns: pointers returned by the calls
 * below become invalid. NULL is allowed and does nothing. */
OWF_C_API void owf_close(owf_model* m);

/* The format the model was read from, e.g. "owf 1.0", "safetensors",
 * "GGUF v3". Owned by the model; valid until owf_close. */
OWF_C_API const char* owf_format(const owf_model* m);

/* Number of tensors, indexed 0 .. count-1 in the source's own order. */
OWF_C_API size_t owf_tensor_count(const owf_model* m);

/* Fills *out with tensor i. Returns 0, or -1 (leaving *out unchanged) when i
 * is out of range or out is NULL. */
OWF_C_API int owf_tensor_info_at(const owf_model* m, size_t i, owf_tensor_info* out);

/* Index of the tensor named `name` (NUL-terminated UTF-8), or -1 if absent.
 * Constant time. */
OWF_C_API int64_t owf_tensor_index(const owf_model* m, const char* name);

/* The whole decoded tensor i without a copy when the source stores it raw in
 * a memory-mapped file (e.g. .owf, .safetensors, .gguf, .npy, .onnx):
 * nbytes bytes, little-endian, C order, read-only. NULL otherwise, e.g. for
 * compressed tensors and those a format must convert (then use owf_read),
 * and for i out of range. Valid until owf_close. */
OWF_C_API const void* owf_tensor_data(const owf_model* m, size_t i);

/* Copies decoded bytes [offset, offset + len) of tensor i into dst (caller
 * memory of at least len bytes). Compressed tensors decode only the chunks
 * that range needs. Returns 0, or -1 and sets *err (e.g. a range past the
 * tensor, a checksum mismatch). */
OWF_C_API int owf_read(const owf_model* m, size_t i, uint64_t offset, void* dst, uint64_t len, owf_error** err);

/* Copies rows [begin, end) of the outermost dimension of tensor i into dst,
 * which holds at least (end - begin) * (nbytes / shape[0]) bytes. Touches only
 * those rows' bytes (or chunks, when compressed). A scalar has no rows: it is
 * an error. Returns 0, or -1 and sets *err. */
OWF_C_API int owf_read_rows(const owf_model* m, size_t i, uint64_t begin, uint64_t end, void* dst, owf_error** err);

/* Decodes all elements of tensor i to float32 into dst (room for the product
 * of its shape), for every dtype the library decodes: floats, integers, bool,
 * fp8/fp6/fp4, int4 and most ggml block types (complex: the real part).
 * Returns 0, or -1 and sets *err (OWF_NOT_SUPPORTED for dtypes it cannot
 * decode). */
OWF_C_API int owf_read_f32(const owf_model* m, size_t i, float* dst, uint64_t count, owf_error** err);

/* The metadata: the text of one JSON object ("{}" when there is none), UTF-8,
 * NUL-terminated. Owned by the model; valid until owf_close. */
OWF_C_API const char* owf_metadata_json(const owf_model* m);

/* The content digest "sha256:<64 hex digits>" (spec/owf-v1.md, "Content
 * digest"): the same weights give the same digest in every format. Reads every
 * tensor on the first call (which may take a while; concurrent first calls
 * wait for one computation); later calls return the same string. Owned by the
 * model; valid until owf_close. NULL when a tensor cannot be read: then
 * owf_content_digest_error says why. */
OWF_C_API const char* owf_content_digest(const owf_model* m);

/* Like owf_content_digest, but on failure returns NULL and sets *err. */
OWF_C_API const char* owf_content_digest_error(const owf_model* m, owf_error** err);

/* The error's message. Owned by the error; valid until owf_error_free. */
OWF_C_API const char* owf_error_message(const owf_error* e);

/* The error's code; OWF_OK for NULL. */
OWF_C_API owf_error_code owf_error_get_code(const owf_error* e);

/* Releases an error. NULL is allowed and does nothing. */
OWF_C_API void owf_error_free(owf_error* e);

/* The library's version, e.g. "0.1.0": static storage, never freed. */
OWF_C_API const char* owf_version(void);

#ifdef __cplusplus
}
#endif

#endif /* OWF_H_ */
