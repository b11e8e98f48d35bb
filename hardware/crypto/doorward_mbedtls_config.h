/*
 * Included first by crypto.c and csr.c. On the device, compile against
 * ESP-IDF's Mbed TLS configuration, as ESP-IDF's own components do: context
 * layouts depend on it (hardware SHA/AES drivers). The include folders come
 * from manifest.json's esp32 "build" C_FLAGS. On Linux, the system's Mbed TLS
 * headers carry their own configuration and this file adds nothing.
 */
#ifndef DOORWARD_MBEDTLS_CONFIG_H
#define DOORWARD_MBEDTLS_CONFIG_H

#if defined(ESP_PLATFORM)
#include "sdkconfig.h"
#ifndef MBEDTLS_CONFIG_FILE
#define MBEDTLS_CONFIG_FILE "mbedtls/esp_config.h"
#endif
#if defined(CONFIG_MBEDTLS_VER_4_X_SUPPORT) && !defined(TF_PSA_CRYPTO_USER_CONFIG_FILE)
#define TF_PSA_CRYPTO_USER_CONFIG_FILE "mbedtls/esp_config.h"
#endif
#endif

#endif
