/*
 * Included first by the Mbed TLS users in hardware/ (crypto.c, csr.c,
 * p256.c, ota.c). On the device, compile against ESP-IDF's Mbed TLS
 * configuration, as ESP-IDF's own components do: context layouts depend on
 * it (hardware SHA/AES drivers). The include folders come from
 * manifest.json's esp32 "build" C_FLAGS. On Linux, the system's Mbed TLS
 * headers carry their own configuration.
 *
 * MBEDTLS_ALLOW_PRIVATE_ACCESS: ESP-IDF's esp_config.h defines it for every
 * file built against its Mbed TLS, and with TF-PSA-Crypto 1.0 it is also what
 * declares the built-in modules' functions (mbedtls/private_access.h). It is
 * defined here for every platform, so that a file sees the same
 * declarations on the device and against an Mbed TLS 4 with its own
 * configuration (p256.c calls the private ECP and bignum modules). It must
 * come before the first Mbed TLS header; 2.28 does not read it.
 */
#ifndef DOORWARD_MBEDTLS_CONFIG_H
#define DOORWARD_MBEDTLS_CONFIG_H

#ifndef MBEDTLS_ALLOW_PRIVATE_ACCESS
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#endif

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
