#ifndef BATON_CCURL_SHIM_H
#define BATON_CCURL_SHIM_H

/*
 * libcurl's setters and getters are variadic, which Swift cannot call; these typed wrappers are the whole
 * C surface the executor's HTTP transport uses (Sources/Executor/CurlTransport.swift).
 */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <sys/socket.h>

/* Once per process, before the first handle (CURL_GLOBAL_DEFAULT is a macro expression Swift does not import). */
static inline CURLcode baton_curl_global_init(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

static inline CURLcode baton_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode baton_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode baton_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode baton_curl_set_headers(CURL *handle, struct curl_slist *headers) {
    return curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
}

typedef size_t (*baton_curl_write_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode baton_curl_set_write(CURL *handle, baton_curl_write_callback callback, void *context) {
    CURLcode code = curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
    if (code != CURLE_OK) { return code; }
    return curl_easy_setopt(handle, CURLOPT_WRITEDATA, context);
}

/* Called for every socket libcurl is about to open, with the exact address it will connect to. */
typedef curl_socket_t (*baton_curl_open_socket_callback)(void *context, curlsocktype purpose, struct curl_sockaddr *address);

static inline CURLcode baton_curl_set_open_socket(CURL *handle, baton_curl_open_socket_callback callback, void *context) {
    CURLcode code = curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, callback);
    if (code != CURLE_OK) { return code; }
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETDATA, context);
}

static inline long baton_curl_response_code(CURL *handle) {
    long code = 0;
    if (curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) { return 0; }
    return code;
}

static inline CURLMcode baton_curl_multi_set_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

/* CURLMsg's result lives in a union; reading it here keeps the union out of Swift. */
static inline int baton_curl_message_done(CURLMsg *message, CURL **handle, CURLcode *result) {
    if (message->msg != CURLMSG_DONE) { return 0; }
    *handle = message->easy_handle;
    *result = message->data.result;
    return 1;
}

/* A close-on-exec socket, so command children spawned meanwhile never inherit an HTTP action's connection. */
static inline curl_socket_t baton_open_socket(int family, int type, int protocol) {
    return socket(family, type | SOCK_CLOEXEC, protocol);
}

#endif
