/* Writes the cache-file seeds of tests/fuzz/corpus/cache_file/ (run once by hand; the output
 * is committed): a valid file for fuzz_cache_file.c's options, and one with an empty binary. */
#include "cache_file.h"

#include <stdio.h>
#include <string.h>

static int write_seed(const char *path, uint64_t key, const char *binary) {
    const char *options = "-cl-std=CL1.2 -DFUZZ=1";
    clattn_cache_header hd;
    if (!clattn__cache_header_init(&hd, key, options, binary, strlen(binary))) return 1;
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    fwrite(&hd, sizeof hd, 1, f);
    fputs(options, f);
    fputs(binary, f);
    return fclose(f) != 0;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/valid", argv[1]);
    int bad = write_seed(path, 0x0123456789abcdefull,
                         "\x7f"
                         "ELF binary bytes");
    snprintf(path, sizeof path, "%s/empty_binary", argv[1]);
    bad |= write_seed(path, 42, "");
    return bad;
}
