/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ova_dl.h - libxml2 (the OVF descriptor) and libcrypto (the manifest's sums) are
 * dlopen()ed when -i ova first needs them, not linked: linked, libxml2 brings ICU
 * and libstdc++ and libcrypto its own start-up, several milliseconds added to every
 * imgtool command, of which only `v2v -i ova` uses them.
 *
 * Include this after <libxml/...> and <openssl/evp.h>: the macros keep the call
 * sites in the libraries' own spelling while each call goes through a pointer that
 * ova_dl_load() fills.
 */
#ifndef IMGTOOL_OVA_DL_H
#define IMGTOOL_OVA_DL_H

#ifdef HAVE_OVA
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

/* xmlFree is a variable (a function pointer): its pointer is resolved the same way.
 * imgtool clone --xml edits a domain XML with the tree functions (xmlSetProp...). */
#define OVA_DL_XML_FUNCS(X) \
	X(xmlAddNextSibling) \
	X(xmlDocDumpMemory) \
	X(xmlDocGetRootElement) \
	X(xmlFree) \
	X(xmlFreeDoc) \
	X(xmlGetLastError) \
	X(xmlGetProp) \
	X(xmlInitParser) \
	X(xmlNewChild) \
	X(xmlNewDocNode) \
	X(xmlNodeGetContent) \
	X(xmlNodeListGetString) \
	X(xmlNodeSetContent) \
	X(xmlReadMemory) \
	X(xmlResetLastError) \
	X(xmlSetProp)

#define OVA_DL_CRYPTO_FUNCS(X) \
	X(EVP_DigestFinal_ex) \
	X(EVP_DigestInit_ex) \
	X(EVP_DigestUpdate) \
	X(EVP_MD_CTX_free) \
	X(EVP_MD_CTX_new) \
	X(EVP_MD_get_size) \
	X(EVP_sha1) \
	X(EVP_sha256) \
	X(EVP_sha512)

#define OVA_DL_DECLARE(n) extern __typeof__(n) *ova_dl_##n;
OVA_DL_XML_FUNCS(OVA_DL_DECLARE)
OVA_DL_CRYPTO_FUNCS(OVA_DL_DECLARE)

#ifndef OVA_DL_IMPL
#define xmlAddNextSibling (*ova_dl_xmlAddNextSibling)
#define xmlDocDumpMemory (*ova_dl_xmlDocDumpMemory)
#define xmlDocGetRootElement (*ova_dl_xmlDocGetRootElement)
#define xmlFree (*ova_dl_xmlFree)
#define xmlFreeDoc (*ova_dl_xmlFreeDoc)
#define xmlGetLastError (*ova_dl_xmlGetLastError)
#define xmlGetProp (*ova_dl_xmlGetProp)
#define xmlInitParser (*ova_dl_xmlInitParser)
#define xmlNewChild (*ova_dl_xmlNewChild)
#define xmlNewDocNode (*ova_dl_xmlNewDocNode)
#define xmlNodeGetContent (*ova_dl_xmlNodeGetContent)
#define xmlNodeListGetString (*ova_dl_xmlNodeListGetString)
#define xmlNodeSetContent (*ova_dl_xmlNodeSetContent)
#define xmlReadMemory (*ova_dl_xmlReadMemory)
#define xmlResetLastError (*ova_dl_xmlResetLastError)
#define xmlSetProp (*ova_dl_xmlSetProp)
#define EVP_DigestFinal_ex (*ova_dl_EVP_DigestFinal_ex)
#define EVP_DigestInit_ex (*ova_dl_EVP_DigestInit_ex)
#define EVP_DigestUpdate (*ova_dl_EVP_DigestUpdate)
#define EVP_MD_CTX_free (*ova_dl_EVP_MD_CTX_free)
#define EVP_MD_CTX_new (*ova_dl_EVP_MD_CTX_new)
#define EVP_MD_get_size (*ova_dl_EVP_MD_get_size)
#define EVP_sha1 (*ova_dl_EVP_sha1)
#define EVP_sha256 (*ova_dl_EVP_sha256)
#define EVP_sha512 (*ova_dl_EVP_sha512)
#endif

/* Load both libraries once: 0, or -ENOTSUP with the message set. */
int ova_dl_load(void);
#endif

#endif
