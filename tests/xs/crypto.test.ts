/*
 * The native crypto binding (hardware/crypto) on XS: known answers from the
 * standards, written out as hex, and the failures the protocol relies on.
 */
import { test, equal, ok, bytesEqual, throws } from "tests/harness";
import {
	digest, Hash, hmac, gcmSeal, gcmOpen, x25519, x25519PublicKey,
	ed25519PublicKey, ed25519Sign, ed25519Verify, wipe,
} from "hardware/crypto";
import { concat, fromHex, toHex, utf8Encode } from "util/bytes";

const hex = fromHex;

test("SHA-256 and SHA-512 of \"abc\" (FIPS 180-2)", () => {
	const abc = utf8Encode("abc");
	equal(toHex(digest("SHA-256", abc)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256");
	equal(toHex(digest("SHA-512", abc)),
		"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f", "SHA-512");
	equal(toHex(digest("SHA-256", abc.buffer as unknown as Uint8Array)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "from an ArrayBuffer");
	equal(toHex(digest("SHA-256", new Uint8Array(0))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty input");
});

test("Hash gives the one-shot digest in pieces, and refuses use after finish()", () => {
	const data = utf8Encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
	for (const name of ["SHA-256", "SHA-512"] as const) {
		const hash = new Hash(name);
		equal(hash.update(data.subarray(0, 5)), hash, "update returns this");
		hash.update(new Uint8Array(0)).update(data.subarray(5, 40)).update(data.subarray(40));
		const result = hash.finish();
		bytesEqual(result, digest(name, data), `${name} incremental`);
		throws(() => hash.update(data), /after finish/, "update after finish");
		throws(() => hash.finish(), /twice/, "finish twice");
	}
	// FIPS 180-2's two-block message
	equal(toHex(new Hash("SHA-256").update(data).finish()), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "SHA-256 two blocks");
	throws(() => new Hash("SHA-1" as "SHA-256"), /SHA-256.*SHA-512/, "unknown hash");
	// Instances left unfinished are released by the garbage collector.
	for (let i = 0; i < 200; i++)
		new Hash("SHA-512").update(data);
});

test("HMAC: RFC 4231 test cases 2 and 6, and an empty key", () => {
	const key = utf8Encode("Jefe");
	const data = utf8Encode("what do ya want for nothing?");
	equal(toHex(hmac("SHA-256", key, data)), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "case 2, SHA-256");
	equal(toHex(hmac("SHA-512", key, data)),
		"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737", "case 2, SHA-512");
	const longKey = new Uint8Array(131).fill(0xaa);
	const longData = utf8Encode("Test Using Larger Than Block-Size Key - Hash Key First");
	equal(toHex(hmac("SHA-256", longKey, longData)), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", "case 6, SHA-256");
	equal(toHex(hmac("SHA-512", longKey, longData)),
		"80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598", "case 6, SHA-512");
	equal(toHex(hmac("SHA-256", new Uint8Array(0), new Uint8Array(0))), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", "empty key and data");
	throws(() => hmac("SHA-256", "key" as unknown as Uint8Array, data), /key must be a Uint8Array/, "key type");
});

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 2, 8, 13, 14 and 16.
const case16 = {
	key: hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"),
	nonce: hex("cafebabefacedbaddecaf888"),
	plaintext: hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"),
	aad: hex("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
	sealed: hex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662" +
		"76fc6ece0f4e1768cddf8853bb2d551b"),
};

test("AES-GCM: published test vectors for 128-, 192- and 256-bit keys", () => {
	const zeros = (n: number) => new Uint8Array(n);
	equal(toHex(gcmSeal(zeros(16), zeros(12), zeros(16))), "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf", "case 2 (AES-128)");
	equal(toHex(gcmSeal(zeros(24), zeros(12), zeros(16))), "98e7247c07f0fe411c267e4384b0f6002ff58d80033927ab8ef4d4587514f0fb", "case 8 (AES-192)");
	equal(toHex(gcmSeal(zeros(32), zeros(12), zeros(0))), "530f8afbc74536b9a963b4f1c4cb738b", "case 13 (AES-256, empty)");
	equal(toHex(gcmSeal(zeros(32), zeros(12), zeros(16))), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919", "case 14 (AES-256)");
	bytesEqual(gcmSeal(case16.key, case16.nonce, case16.plaintext, case16.aad), case16.sealed, "case 16 (AES-256 with AAD)");
	bytesEqual(gcmOpen(case16.key, case16.nonce, case16.sealed, case16.aad), case16.plaintext, "case 16 opened");
	equal(gcmOpen(zeros(32), zeros(12), hex("530f8afbc74536b9a963b4f1c4cb738b")).length, 0, "case 13 opened");
	bytesEqual(gcmOpen(zeros(32), zeros(12), gcmSeal(zeros(32), zeros(12), zeros(16), new Uint8Array(0))), zeros(16), "an empty AAD is no AAD");
});

test("AES-GCM: a tampered tag, ciphertext, nonce or AAD fails authentication", () => {
	const { key, nonce, sealed, aad } = case16;
	const flip = (bytes: Uint8Array, at: number) => {
		const copy = bytes.slice();
		copy[at] ^= 1;
		return copy;
	};
	throws(() => gcmOpen(key, nonce, flip(sealed, sealed.length - 1), aad), /authentication failed/, "tag");
	throws(() => gcmOpen(key, nonce, flip(sealed, 0), aad), /authentication failed/, "ciphertext");
	throws(() => gcmOpen(key, flip(nonce, 11), sealed, aad), /authentication failed/, "nonce");
	throws(() => gcmOpen(key, nonce, sealed, flip(aad, 3)), /authentication failed/, "aad");
	throws(() => gcmOpen(key, nonce, sealed), /authentication failed/, "aad missing");
	try {
		gcmOpen(key, nonce, flip(sealed, 20), aad);
	}
	catch (error) {
		ok(error instanceof Error && !(error instanceof RangeError) && !(error instanceof TypeError), "a plain Error");
	}
});

test("AES-GCM: bad lengths are RangeErrors naming the argument", () => {
	const { key, nonce, plaintext, sealed } = case16;
	throws(() => gcmSeal(new Uint8Array(20), nonce, plaintext), /key must be 16, 24 or 32 bytes, not 20/, "key");
	throws(() => gcmSeal(key, new Uint8Array(16), plaintext), /nonce must be 12 bytes, not 16/, "nonce");
	throws(() => gcmOpen(key, nonce, sealed.subarray(0, 15)), /sealed must be at least 16 bytes/, "sealed");
	try {
		gcmOpen(key, nonce, new Uint8Array(3));
	}
	catch (error) {
		ok(error instanceof RangeError, "short sealed is a RangeError");
	}
	throws(() => gcmSeal(key, nonce, null as unknown as Uint8Array), /plaintext must be a Uint8Array/, "plaintext type");
});

test("X25519: RFC 7748 sections 5.2 and 6.1", () => {
	equal(toHex(x25519(hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
		hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))),
	"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552", "5.2, first vector");
	// The second u-coordinate has its top bit set, which X25519 ignores.
	equal(toHex(x25519(hex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
		hex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"))),
	"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957", "5.2, second vector (non-canonical u)");

	const alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	const bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	const alicePublic = x25519PublicKey(alice);
	const bobPublic = x25519PublicKey(bob);
	equal(toHex(alicePublic), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", "Alice's public key");
	equal(toHex(bobPublic), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", "Bob's public key");
	const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
	equal(toHex(x25519(alice, bobPublic)), shared, "Alice's shared secret");
	equal(toHex(x25519(bob, alicePublic)), shared, "Bob's shared secret");
});

test("X25519: a low-order public key is an all-zero shared secret error", () => {
	const secret = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	const lowOrder = [
		"0000000000000000000000000000000000000000000000000000000000000000",	// u = 0
		"0100000000000000000000000000000000000000000000000000000000000000",	// u = 1
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",	// a point of order 8
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",	// u = p - 1
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",	// u = p, non-canonical and top bit set
	];
	for (const point of lowOrder)
		throws(() => x25519(secret, hex(point)), /all-zero shared secret/, point);
	throws(() => x25519(secret.subarray(1), hex(lowOrder[2])), /secret must be 32 bytes, not 31/, "short secret");
	throws(() => x25519(secret, new Uint8Array(33)), /publicKey must be 32 bytes, not 33/, "long public key");
	throws(() => x25519PublicKey(new Uint8Array(0)), /secret must be 32 bytes, not 0/, "empty secret");
});

test("Ed25519: RFC 8032 section 7.1, tests 1 and 2", () => {
	const vectors = [
		{
			seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
			message: "",
			signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
		},
		{
			seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
			message: "72",
			signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
		},
	];
	for (const [index, vector] of vectors.entries()) {
		const seed = hex(vector.seed);
		const message = hex(vector.message);
		equal(toHex(ed25519PublicKey(seed)), vector.publicKey, `test ${index + 1} public key`);
		equal(toHex(ed25519Sign(seed, message)), vector.signature, `test ${index + 1} signature`);
		equal(ed25519Verify(hex(vector.publicKey), message, hex(vector.signature)), true, `test ${index + 1} verifies`);
	}
});

test("Ed25519: bad signatures are false, bad lengths too, never an exception", () => {
	const seed = hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
	const publicKey = ed25519PublicKey(seed);
	const message = hex("72");
	const signature = ed25519Sign(seed, message);
	const flipped = signature.slice();
	flipped[0] ^= 1;
	equal(ed25519Verify(publicKey, message, flipped), false, "flipped signature bit");
	equal(ed25519Verify(publicKey, hex("73"), signature), false, "other message");
	equal(ed25519Verify(ed25519PublicKey(new Uint8Array(32)), message, signature), false, "other key");
	equal(ed25519Verify(publicKey, message, signature.subarray(0, 63)), false, "short signature");
	equal(ed25519Verify(publicKey, message, concat([signature, new Uint8Array(1)])), false, "long signature");
	equal(ed25519Verify(publicKey.subarray(1), message, signature), false, "short public key");
	equal(ed25519Verify(new Uint8Array(32), message, new Uint8Array(64)), false, "all zero");
	throws(() => ed25519Sign(seed.subarray(0, 31), message), /seed must be 32 bytes, not 31/, "short seed");
	throws(() => ed25519PublicKey(new Uint8Array(64)), /seed must be 32 bytes, not 64/, "64-byte secret key as seed");
});

test("every result is a fresh Uint8Array", () => {
	const key = new Uint8Array(32);
	const results = [
		digest("SHA-256", key), hmac("SHA-256", key, key), gcmSeal(key, new Uint8Array(12), key),
		x25519PublicKey(key.slice().fill(1)), ed25519PublicKey(key), ed25519Sign(key, key),
	];
	for (const result of results)
		ok((result instanceof Uint8Array) && (result.byteOffset === 0) && (result.byteLength === result.buffer.byteLength), "own buffer");
	ok(results[0] !== digest("SHA-256", key), "not shared between calls");
});

test("wipe() zeroes the bytes of a view in place, and only those", () => {
	const buffer = new Uint8Array(48).fill(0xA5);
	wipe(buffer.subarray(8, 40));
	ok(buffer.subarray(8, 40).every((byte) => byte === 0), "the view is zero");
	ok(buffer.subarray(0, 8).every((byte) => byte === 0xA5) && buffer.subarray(40).every((byte) => byte === 0xA5), "outside untouched");
	const whole = new Uint8Array(16).fill(7);
	wipe(whole.buffer as unknown as Uint8Array);
	ok(whole.every((byte) => byte === 0), "an ArrayBuffer");
	wipe(new Uint8Array(0));
	throws(() => wipe([1, 2, 3] as unknown as Uint8Array), /buffer must be a Uint8Array/, "an array");
});

test("the native functions validate their arguments themselves", () => {
	const call = (name: string, ...args: unknown[]) => native(name).call(undefined, ...args);
	throws(() => call("xs_crypto_digest", 384, new Uint8Array(1)), /SHA-256.*SHA-512/, "hash size");
	throws(() => call("xs_crypto_digest", 256, "abc"), /Uint8Array or an ArrayBuffer/, "string data");
	throws(() => call("xs_crypto_digest", 256, new Uint16Array(2)), /no buffer/, "16-bit typed array");
	throws(() => call("xs_crypto_gcm_seal", new Uint8Array(15), new Uint8Array(12), new Uint8Array(1)), /key must be 16, 24 or 32 bytes/, "key");
	throws(() => call("xs_crypto_gcm_open", new Uint8Array(16), new Uint8Array(13), new Uint8Array(16)), /nonce must be 12 bytes/, "nonce");
	throws(() => call("xs_crypto_gcm_open", new Uint8Array(16), new Uint8Array(12), new Uint8Array(15)), /at least 16 bytes/, "sealed");
	throws(() => call("xs_crypto_gcm_seal", new Uint8Array(16)), /needs a key, a nonce and data/, "missing arguments");
	throws(() => call("xs_crypto_x25519", new Uint8Array(32), new Uint8Array(31)), /publicKey must be 32 bytes/, "x25519");
	throws(() => call("xs_crypto_ed25519_sign", new Uint8Array(33), new Uint8Array(0)), /seed must be 32 bytes/, "ed25519 seed");
	equal(call("xs_crypto_ed25519_verify", new Uint8Array(31), new Uint8Array(0), new Uint8Array(64)), false, "verify, short key");
	throws(() => call("xs_crypto_hash_update", new Uint8Array(1)), /host/, "update on a non-Hash");
	throws(() => call("xs_crypto_wipe", {}), /wipe takes/, "wipe of an object");
	const hash = new Hash("SHA-256");
	hash.finish();
	throws(() => native("xs_crypto_hash_update").call(hash, new Uint8Array(1)), /used after finish/, "C knows the Hash is finished");
	throws(() => native("xs_crypto_hash_finish").call(hash), /used after finish/, "and so does finish");
});
