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
	throws(() => publicKey(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00)), /not an RSA-2048 or P-256 private key/);
	throws(() => publicKey(new Uint8Array(ArrayBuffer.fromString("-----BEGIN PRIVATE KEY-----"))), /not an RSA-2048 or P-256 private key/);
	throws(() => generateKey("rsa-1024" as "rsa-2048"), /key kind/);
});

test("certificateMatches() refuses what is not a certificate for this key", () => {
	equal(certificateMatches(spki, key), false, "a public key is not a certificate");
	equal(certificateMatches(Uint8Array.of(1, 2, 3), key), false, "garbage");
});

const ecKey = generateKey("p-256");
const ecSpki = publicKey(ecKey);

test("generateKey(\"p-256\") makes a P-256 key as PKCS#8 DER", () => {
	equal(ecKey[0], 0x30, "a SEQUENCE");
	equal(derElementLength(ecKey), ecKey.length, "one DER element, nothing after it");
	equal(ecKey.length, 150, "PKCS#8 around a SEC1 key with its curve and public key");
	equal([...ecKey.subarray(3, 6)].join(","), "2,1,0", "version 0");
	// AlgorithmIdentifier { id-ecPublicKey, prime256v1 }
	equal([...ecKey.subarray(6, 27)].join(","), "48,19,6,7,42,134,72,206,61,2,1,6,8,42,134,72,206,61,3,1,7", "id-ecPublicKey on prime256v1");
});

test("a P-256 key's SubjectPublicKeyInfo is 91 bytes and ends with its uncompressed point", () => {
	equal(ecSpki.length, 91, "P-256 SPKI size");
	equal(derElementLength(ecSpki), ecSpki.length, "one DER element");
	equal(ecSpki[26], 0x04, "an uncompressed point");
	// The SEC1 key inside the PKCS#8 carries the same point.
	ok(includes(ecKey, ecSpki.subarray(26)), "the private key holds the same public point");
	const other = generateKey("p-256");
	ok([...publicKey(other)].some((byte, i) => byte !== ecSpki[i]), "another key differs");
	other.fill(0);
});

test("a P-256 key's request is signed with ECDSA and SHA-256 and carries its public key", () => {
	const csr = certificationRequest(ecKey, "fedcba9876543210fedcba9876543210");
	equal(derElementLength(csr), csr.length, "one DER element");
	ok((csr.length > 200) && (csr.length < 300), `size ${csr.length}`);
	ok(includes(csr, ecSpki), "holds the SubjectPublicKeyInfo");
	// ecdsa-with-SHA256: 1.2.840.10045.4.3.2
	ok(includes(csr, Uint8Array.of(0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02)), "signed with ECDSA and SHA-256");
	equal(certificateMatches(ecSpki, ecKey), false, "a public key is not a certificate");
});
