/* owf_list: lists the tensors of a weights file in any format owf reads,
 * through the C API, and checks that the ways of reading a tensor agree.
 *
 *   cc -std=c99 owf_list.c $(pkg-config --cflags --libs owf) -o owf_list
 *   ./owf_list model.safetensors
 *
 * Prints the format, then one line per tensor (name, dtype, shape, encoding,
 * bytes, the first float32 value where it decodes), then the content digest.
 * Exits 2 with owf's message on stderr when the file cannot be read. */
#include <inttypes.h>
#include <owf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the error's message (which names the file and tensor), frees it, and returns exit code 2. */
static int fail(owf_error* err) {
  fprintf(stderr, "owf_list: %s\n", owf_error_message(err));
  owf_error_free(err);
  return 2;
}

/* Reads tensor i three ways (whole, by rows, zero-copy) and checks they agree. */
static int check_tensor(const owf_model* m, size_t i, const owf_tensor_info* info) {
  owf_error* err = NULL;
  unsigned char* whole = malloc(info->nbytes > 0 ? info->nbytes : 1);
  unsigned char* rows = malloc(info->nbytes > 0 ? info->nbytes : 1);
  int status = 0;
  if (whole == NULL || rows == NULL) {
    fprintf(stderr, "owf_list: %s: out of memory\n", info->name);
    status = 2;
  } else if (owf_read(m, i, 0, whole, info->nbytes, &err) != 0) {
    status = fail(err);
  } else if (info->rank > 0 && owf_read_rows(m, i, 0, info->shape[0], rows, &err) != 0) {
    status = fail(err);
  } else if (info->rank > 0 && memcmp(whole, rows, info->nbytes) != 0) {
    fprintf(stderr, "owf_list: %s: owf_read_rows disagrees with owf_read\n", info->name);
    status = 1;
  } else {
    const void* data = owf_tensor_data(m, i); /* NULL unless stored decoded in a mapped file */
    if (data != NULL && memcmp(data, whole, info->nbytes) != 0) {
      fprintf(stderr, "owf_list: %s: owf_tensor_data disagrees with owf_read\n", info->name);
      status = 1;
    }
  }
  free(whole);
  free(rows);
  return status;
}

/* Prints the first value of tensor i as float32, or "-" when its dtype does not decode. */
static void print_first_value(const owf_model* m, size_t i, const owf_tensor_info* info) {
  uint64_t count = 1;
  for (uint32_t d = 0; d < info->rank; ++d) count *= info->shape[d];
  float* values = count > 0 ? malloc(count * sizeof(float)) : NULL;
  owf_error* err = NULL;
  if (values != NULL && owf_read_f32(m, i, values, count, &err) == 0) {
    printf(" first=%g", values[0]);
  } else {
    printf(" first=-");
  }
  owf_error_free(err);
  free(values);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: owf_list FILE\n");
    return 2;
  }
  owf_error* err = NULL;
  owf_model* m = owf_open(argv[1], &err);
  if (m == NULL) return fail(err);

  printf("owf %s, format %s, %zu tensors\n", owf_version(), owf_format(m), owf_tensor_count(m));
  int status = 0;
  for (size_t i = 0; i < owf_tensor_count(m) && status == 0; ++i) {
    owf_tensor_info info;
    if (owf_tensor_info_at(m, i, &info) != 0 || owf_tensor_index(m, info.name) != (int64_t)i) {
      fprintf(stderr, "owf_list: tensor %zu: inconsistent index\n", i);
      status = 1;
      break;
    }
    printf("%s %s [", info.name, info.dtype);
    for (uint32_t d = 0; d < info.rank; ++d) printf(d ? ", %" PRIu64 : "%" PRIu64, info.shape[d]);
    printf("] %s %" PRIu64 " bytes", info.encoding, info.nbytes);
    print_first_value(m, i, &info);
    printf("\n");
    status = check_tensor(m, i, &info);
  }
  if (status == 0) {
    const char* digest = owf_content_digest_error(m, &err);
    if (digest == NULL) {
      status = fail(err);
    } else {
      printf("metadata: %zu bytes of JSON\ncontent %s\n", strlen(owf_metadata_json(m)), digest);
    }
  }
  owf_close(m);
  return status;
}
