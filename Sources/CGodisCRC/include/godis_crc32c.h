#ifndef GODIS_CRC32C_H
#define GODIS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Extends `crc` (the CRC32C of the bytes before `data`; 0 for none) over `length` bytes.
/// Uses the SSE4.2 `crc32` instruction when the CPU has it, a slicing-by-8 table otherwise.
uint32_t godis_crc32c_extend(uint32_t crc, const void *data, size_t length);

/// 1 when the hardware path is in use, 0 for the table fallback.
int godis_crc32c_hardware(void);

/// The table path regardless of the CPU, so that tests can compare both.
uint32_t godis_crc32c_extend_portable(uint32_t crc, const void *data, size_t length);

#endif
