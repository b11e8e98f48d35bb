import { test, equal, ok, throws } from "tests/harness";
import { certificateMatches, certificationRequest, generateKey, publicKey } from "hardware/csr";

/** The length of the DER element at `offset` (tag, length octets and contents). */
function derElementLength(bytes: Uint8Array, offset = 0): number {
	const first = bytes[offset + 1];
	if (first < 0x80)
		return 2 + first;
	const count = first & 0x7F;
	let length = 0;
	for (let i = 0; i < count; i++)
		length = (length * 256) + bytes[offset + 2 + i];
	return 2 + count + length;
}

function includes(haystack: Uint8Array, needle: Uint8Array): boolean {
	outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
		for (let j = 0; j < needle.length; j++) {
			if (haystack[i + j] !== needle[j])
				continue outer;
		}
		return true;
	}
	return false;
}

const key = generateKey();
const spki = publicKey(key);

test("generateKey() makes an RSA-2048 key as PKCS#8 DER", () => {
	equal(key[0], 0x30, "a SEQUENCE");
	equal(derElementLength(key), key.length, "one DER element, nothing after it");
	ok((key.length > 1200) && (key.length < 1240), `PKCS#8 RSA-2048 size: ${key.length}`);
	// version 0, then AlgorithmIdentifier rsaEncryption
	equal([...key.subarray(4, 7)].join(","), "2,1,0", "version 0");
	equal([...key.subarray(9, 20)].join(","), "6,9,42,134,72,134,247,13,1,1,1", "rsaEncryption");
});

test("publicKey() is a SubjectPublicKeyInfo of 294 bytes", () => {
	equal(spki[0], 0x30, "a SEQUENCE");
	equal(spki.length, 294, "RSA-2048 SPKI size");
	equal(derElementLength(spki), spki.length, "one DER element");
});

test("two keys differ", () => {
	const other = generateKey();
	ok([...publicKey(other)].some((byte, i) => byte !== spki[i]), "different public keys");
	other.fill(0);
});

test("certificationRequest() is a DER PKCS#10 request carrying the public key and the common name", () => {
	const csr = certificationRequest(key, "0123456789abcdef0123456789abcdef");
	equal(csr[0], 0x30, "a SEQUENCE");
	equal(derElementLength(csr), csr.length, "one DER element");
	ok((csr.length > 600) && (csr.length < 800), `size ${csr.length}`);
	ok(includes(csr, spki), "holds the SubjectPublicKeyInfo");
	ok(includes(csr, new Uint8Array(ArrayBuffer.fromString("0123456789abcdef0123456789abcdef"))), "holds the common name");
	// sha256WithRSAEncryption: 1.2.840.113549.1.1.11
	ok(includes(csr, Uint8Array.of(0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B)), "signed with SHA-256 and RSA");
});

test("arguments are checked", () => {
	throws(() => certificationRequest(key, "CN=evil,O=x"), /commonName/);
	throws(() => certificationRequest(key, ""), /commonName/);
	throws(() => publicKey(new Uint8Array(0)), /non-empty/);
	throws(() => publicKey(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00)), /not an RSA-2048 private key/);
	throws(() => publicKey(new Uint8Array(ArrayBuffer.fromString("-----BEGIN PRIVATE KEY-----"))), /not an RSA-2048 private key/);
});

test("certificateMatches() refuses what is not a certificate for this key", () => {
	equal(certificateMatches(spki, key), false, "a public key is not a certificate");
	equal(certificateMatches(Uint8Array.of(1, 2, 3), key), false, "garbage");
});
