/*
 * Boot: configuration, identity, then the pipeline. A device with no
 * configuration waits for the factory to provision it (a development build
 * also asks for one on its provisioning channel: device/interim).
 */
import Flash from "flash";
import MqttClient from "mqtt/client";
import type { ClientOptions } from "mqtt/client";
import Capture from "pipeline/capture";
import Detection from "pipeline/detection";
import Doorbell from "pipeline/doorbell";
import Publisher from "pipeline/publisher";
import Triggers from "pipeline/triggers";
import { endToEndSealer } from "pipeline/sealer";
import { loadConfiguration } from "device/configuration";
import type { Configuration } from "device/configuration";
import { eventTopic, loadOrCreateIdentity } from "device/identity";
import type { Identity } from "device/identity";
import { loadOrCreateKeys, openRecords } from "device/keys";
import { clientCertificateSector, factoryHandler, loadOrCreateTlsKey, provisioningLocked } from "device/tls-identity";
import type { DeviceKeys } from "device/keys";
import { loadRecipients } from "device/recipients";
import { factoryLineHandler } from "onboarding/factory-line";
import { serveOnboarding } from "onboarding/service";
import type { OnboardingAuditEntry } from "onboarding/service";
import { windowMs } from "onboarding/window";
import { factoryReset, recoverReset } from "onboarding/reset";
import { Audit } from "audit/audit";
import type { AuditChange } from "audit/audit";
import { AuditLog } from "audit/log";
import { auditDelivery } from "audit/deliver";
import { admitPhone, recoverPhones } from "audit/phones";
import { digest, ed25519Verify } from "hardware/crypto";
import { log } from "device/log";
import Counter from "store/counter";
import { flashRegion } from "store/flash-region";
import type { FlashRegion } from "store/flash-region";
import { FlashOutbox } from "store/flash-outbox";
import { clientKey, firstConfiguration } from "device/interim";
import { onLocalLink, onPairingRequest } from "hardware/provisioning";
import { refuseLink } from "onboarding/exchange";
import { now, synchronize } from "hardware/clock";
import { clockSynced, loadTimeFloor } from "device/time";
import { pemBlocks, utf8Decode, utf8Encode } from "util/bytes";
import { readRecord } from "store/record";
import { AuditSectors, Sectors } from "store/layout";
import { show } from "hardware/status";
import resource from "hardware/resource";
import { installFactoryRoot, onOutcome, selfTest, serveUpdates, trustedRoot, updateStatus } from "update/ota";
import { onBundle, report } from "hardware/ota";
import { BundleAssembler, updateTopic } from "update/delivery";
import { RequestService, requestTopic } from "requests/service";
import { removalHandler } from "requests/removal";
import { roleHandler } from "requests/role";
import { cancelInvitationBy, invitationHandler } from "onboarding/invitation";
import { storedRequestFloor, storeRequestFloor } from "onboarding/setup-code";
import { LiveService, recordCutSessions } from "live/service";

/** The data partition in the board's partitions.csv. */
const partition = "doorward";
const sequenceSector = Sectors.sequence;
/** The TLS client certificate (public) is a record (device/tls-identity); its key is in the keystore. */
/** The partition that holds events until the broker acknowledges them. */
const outboxPartition = "outbox";
/** An image on trial must reach the broker within this time, or it is rolled back. */
const selfTestSeconds = 20;
/** The face detection model in the firmware image (models/README.md). */
const faceModel = "face_detection_full_range_int8.tflite";

async function configure(flash: FlashRegion, provisioned: Promise<Configuration>): Promise<Configuration> {
	const stored = loadConfiguration(flash);
	if (stored)
		return stored;
	show("provisioning", updateStatus(flash));
	log.info("no configuration: waiting for provisioning");
	// The factory provisions over the local channel (device/tls-identity); a
	// development build also has the interim path (device/interim).
	return firstConfiguration(flash, provisioned.then((configuration) => {
		log.info("provisioned by the factory: update root, configuration and certificate stored, provisioning locked");
		return configuration;
	}));
}

/**
 * Onboarding's changes as audit entries (audit/entry's types): each entry is
 * written, and sealed to the phones paired now, before `apply` makes the
 * change. Admissions go through audit/phones' admitPhone instead.
 */
function onboardingChange(entry: OnboardingAuditEntry): AuditChange {
	switch (entry.kind) {
	case "window opened":
		return { type: "window", reason: entry.by, minutes: windowMs / 60000 };
	case "failed attempts":
		return { type: "attempts", failed: entry.count, closed: true };
	case "wifi changed":
		return { type: "wifi", ssid: entry.ssid };
	}
}

/**
 * The device's audit log (audit/), with its events sealed into `outbox`;
 * the newest entry's change is finished now if a power cut stopped it.
 */
function openAudit(flash: FlashRegion, identity: Identity, keys: DeviceKeys, sequence: Counter, outbox: FlashOutbox, kick: () => void): Audit {
	const auditLog = new AuditLog({
		flash,
		firstSector: AuditSectors.first,
		sectorCount: AuditSectors.count,
		deviceId: identity.deviceId,
		crypto: { sha256: (data) => digest("SHA-256", data), sign: (message) => keys.signer.sign(message) },
		verify: (message, signature) => ed25519Verify(keys.signingPublicKey, message, signature),
		clock: () => ({ time: now(), set: clockSynced() }),
	});
	const audit = new Audit(auditLog, auditDelivery({ deviceId: identity.deviceId, topic: eventTopic(identity), signer: keys.signer, sequence, outbox, kick }));
	const recovered = recoverPhones(audit) ?? recoverReset(audit);
	if (recovered)
		log.warn(`audit: finished entry ${recovered.seq} (${recovered.type}) that a power cut had stopped`);
	recordProvisioning(flash, identity, audit);
	recordRoot(flash, audit);
	return audit;
}

/**
 * The factory writes its records before the "provisioned" entry: a cut
 * between leaves a locked device without it. The entry is then written at
 * the next boot, once: when the log holds no "provisioned" entry and none
 * can have been dropped (it starts at entry 1 or is empty).
 */
function recordProvisioning(flash: FlashRegion, identity: Identity, audit: Audit): void {
	const entries = audit.log.entries;
	if (provisioningLocked(flash) && !entries.some((entry) => entry.type === "provisioned") && (!entries.length || (entries[0].seq === 1)))
		audit.record({ type: "provisioned", deviceId: identity.deviceId, updateRoot: trustedRoot(flash)?.version ?? 0, late: true }, { readers: loadRecipients() });
}

/**
 * A root rotation is stored by the update code (update/root-store) while it
 * installs an update, which a restart follows: the boot after it records the
 * root it finds when no entry kept names that version. (An entry dropped
 * from the bounded log is then written once again, which over-reports.)
 */
function recordRoot(flash: FlashRegion, audit: Audit): void {
	const root = trustedRoot(flash);
	if (!root)
		return;
	const named = audit.log.entries.some((entry) => ((entry.type === "updateRoot") || (entry.type === "provisioned")) && (entry.details.updateRoot === root.version || entry.details.version === root.version));
	if (!named)
		audit.record({ type: "updateRoot", version: root.version, channel: root.channel, atBoot: true }, { readers: loadRecipients() });
}

/** TLS settings for the broker, from the configuration, the certificate record and the keystore. */
function tlsOptions(flash: FlashRegion, configuration: Configuration): ClientOptions["tls"] | undefined {
	const tls = configuration.broker.tls;
	if (!tls)
		return undefined;
	const certificate = readRecord(flash, clientCertificateSector);
	const [ca] = pemBlocks(tls.ca);
	const key = certificate ? clientKey() : undefined;
	if (!certificate || !key)
		return { ca, serverName: tls.serverName };
	return { ca, serverName: tls.serverName, certificates: pemBlocks(utf8Decode(certificate)), key };
}

/**
 * The safe state of a device whose records cannot be trusted: it shows
 * "fault" with the reason and goes no further (no broker, no pairing, no
 * factory, no update). The local channel and the update channel still answer,
 * with the reason, so the owner sees why; erasing the flash and provisioning
 * again is the way out.
 */
function refuseEverything(reason: string): void {
	log.error(`boot refused: ${reason}`);
	show("fault", { reason });
	onPairingRequest(() => utf8Encode(JSON.stringify({ ok: false, error: `the device is in fault: ${reason}` })).buffer as ArrayBuffer);
	onLocalLink((link) => {
		refuseLink(link, `the device is in fault: ${reason}`);
		return { onWrite() {}, onDisconnect() {} };
	});
	onBundle({
		chunk() {},
		end() {
			report({ outcome: "refused", reason: "fault", detail: reason });
		},
	});
}

async function boot(): Promise<void> {
	show("booting");
	synchronize();
	const confirmed = selfTest(selfTestSeconds);
	// The record key and every record first: nothing below runs on a record that fails.
	let flash: FlashRegion;
	let sequence: Counter;
	try {
		const opened = openRecords(flashRegion(new Flash(partition)), partition);
		if (opened.created)
			log.info("new record key: the doorward records are authenticated with it");
		flash = opened.records;
		sequence = new Counter(flash, sequenceSector);
	}
	catch (error) {
		refuseEverything((error as Error).message);
		return;
	}
	log.info(`time floor ${new Date(loadTimeFloor(flash)).toISOString()}`);
	const { identity, created } = loadOrCreateIdentity(flash);
	const { keys, created: newKeys } = loadOrCreateKeys();
	log.info(`${created ? "new" : "stored"} identity, device ${identity.deviceId}, ${newKeys ? "new" : "stored"} keys, fingerprint ${keys.fingerprint}`);
	if (loadOrCreateTlsKey().created)
		log.info("new TLS key (RSA-2048) made on the device");
	const updates = new BundleAssembler(serveUpdates(flash, identity.deviceId));
	// The outbox opens before pairing: audit events are queued from the first change on.
	const outbox = new FlashOutbox(flashRegion(new Flash(outboxPartition)));
	let publisher: Publisher | undefined = undefined;
	let audit: Audit;
	try {
		audit = openAudit(flash, identity, keys, sequence, outbox, () => publisher?.kick());
	}
	catch (error) {
		refuseEverything((error as Error).message);
		return;
	}
	let recipients = loadRecipients();
	// A live view that a restart cut is recorded as ended (its keys died with the RAM that held them).
	const cut = recordCutSessions(audit, recipients);
	if (cut)
		log.warn(`live view: ${cut} sessions ended by the restart`);
	let provisionedBy: (configuration: Configuration) => void = () => {};
	const provisioned = new Promise<Configuration>((resolve) => (provisionedBy = resolve));
	const factory = factoryHandler(flash, identity, keys, (root) => installFactoryRoot(flash, root), (configuration) => provisionedBy(configuration));
	// The factory line (UART0 on the device) takes the factory's requests only; phones are admitted on the onboarding link.
	onPairingRequest(factoryLineHandler({
		flash, identity, keys,
		factory: (request) => {
			const reply = factory(request);
			// The factory's change (its records, the update root, the lock) is written by its handler; its
			// entry follows (see recordProvisioning for a cut between).
			if (reply.ok && (request.doorward === "provision")) {
				try {
					audit.record({ type: "provisioned", deviceId: identity.deviceId, updateRoot: Number(reply.updateRoot) }, { readers: loadRecipients() });
				}
				catch (error) {
					// Provisioning is done and locked: the factory hears so; the entry is written at the next boot.
					log.warn(`audit: the provisioned entry was not written: ${(error as Error).message}`);
				}
			}
			return reply;
		},
		log: (level, line) => log[level](line),
	}));
	// Onboarding needs the keys, not the configuration: a device can be set up in its box.
	const onboarding = serveOnboarding({
		identity, keys, now, clockSet: clockSynced,
		admit: (agreementKey, name, time, signingKey, invitation) => admitPhone(audit, agreementKey, name, time,
			invitation ? { role: "member", by: "invitation", invitedBy: invitation.by } : { role: "owner", by: "setup code" }, signingKey),
		onAdmitted: (phones) => (recipients = phones),
		audit: (entry, apply) => {
			// The window every boot of an unowned device opens is no one's action, and recording it would write
			// the flash at each such boot: it is logged only. A window opened by the button is recorded.
			if ((entry.kind === "window opened") && (entry.by === "boot")) {
				log.info("onboarding: the commissioning window is open (boot)");
				return;
			}
			audit.record(onboardingChange(entry), { readers: loadRecipients(), ...(apply ? { apply } : {}) });
		},
		log: (line) => log.info(line),
	});
	// The phones' signed requests (requests/): each kind's handler is registered by the module that owns the change.
	const requests = new RequestService({
		deviceId: identity.deviceId, keys,
		recipients: () => loadRecipients(),
		now, clockSynced,
		storedFloor: storedRequestFloor,
		storeFloor: storeRequestFloor,
		log: (level, line) => log[level](line),
	});
	// The live view is made once the MQTT client is (below); a removal ends the removed phone's session at once.
	const liveView: { service?: LiveService } = {};
	requests.register(removalHandler(audit, (phones, removed) => {
		recipients = phones;
		liveView.service?.phoneRemoved(removed);
		if (cancelInvitationBy(removed))
			log.info(`onboarding: the invitation of removed phone ${removed} is cancelled`);
	}));
	requests.register(invitationHandler(audit, now, (line) => log.info(line)));
	requests.register(roleHandler(audit, (phones) => (recipients = phones)));
	if (!recipients.length)
		log.warn("no phone is paired: events cannot be sealed until one is");
	const configuration = await configure(flash, provisioned);
	// A development build's configuration may have brought the first update root.
	recordRoot(flash, audit);

	const tls = tlsOptions(flash, configuration);
	if (outbox.length)
		log.info(`${outbox.length} events from before the restart are waiting to be published`);
	const client = new MqttClient({
		address: configuration.broker.address,
		port: configuration.broker.port,
		...((configuration.broker.username !== undefined) ? { username: configuration.broker.username, password: configuration.broker.password } : {}),
		clientId: `dw${identity.topicId.slice(0, 20)}`,
		keepAliveSeconds: configuration.keepAliveSeconds,
		...(tls ? { tls } : {}),
		onConnect() {
			log.info(`connected to ${configuration.broker.address}:${configuration.broker.port}`);
			// A clean session: subscribe to this device's update topic on every connection.
			client.subscribe([{ filter: updateTopic(identity.topicId), qos: 1 }, { filter: requestTopic(identity.topicId), qos: 1 }]);
			confirmed();
			show("online", updateStatus(flash));
			publisher!.onConnect();
		},
		onDisconnect(reason) {
			log.warn(`disconnected: ${reason}`);
			show("offline", { reason });
			publisher!.onDisconnect();
		},
		onPuback(packetId) {
			publisher!.onPuback(packetId);
		},
		onMessage(message) {
			if (message.topic === updateTopic(identity.topicId)) {
				const step = updates.receive(message.payload);
				if ((step === "started") || (step === "done") || (step === "ended early"))
					log.info(`update over MQTT: ${step}`);
			}
			else if (message.topic === requestTopic(identity.topicId))
				requests.receive(message.payload);
		},
	});
	publisher = new Publisher(client, outbox, (event) => {
		log.info(`published ${event.kind} event ${event.eventId}`);
		show("online", { published: event.eventId });
	});
	const capture = new Capture(configuration.burst);
	const doorbell = new Doorbell({
		identity,
		configuration,
		capture,
		detection: new Detection({ model: faceModel, load: resource, zones: configuration.privacyZones, enabled: configuration.faceDetection }),
		sealer: endToEndSealer(keys.signer, () => recipients),
		sequence,
		outbox,
		publisher,
	});
	// The live view (live/): its start and stop are signed requests; its frames never queue behind the socket.
	const live = new LiveService({
		deviceId: identity.deviceId, keys, camera: capture, channel: client, audit, zones: configuration.privacyZones,
		recipients: () => recipients,
		now,
		log: (level, line) => log[level](line),
	});
	for (const handler of live.handlers())
		requests.register(handler);
	liveView.service = live;
	// Every update outcome reaches the owner sealed, like any event.
	onOutcome((outcome) => doorbell.recordNow("update", outcome));
	new Triggers({
		onTrigger(kind) {
			// The button also opens the commissioning window of a device nobody owns yet.
			if (kind === "ring") {
				try {
					onboarding.buttonPressed();
				}
				catch (error) {
					// The window's audit entry failed: the ring is still the doorbell's.
					log.warn(`onboarding: ${(error as Error).message}`);
				}
			}
			doorbell.trigger(kind);
		},
		onHold() {
			// Held for 10 s: a factory reset. Its entry reaches the old phones first (the outbox), then the erasing.
			try {
				recipients = factoryReset(audit);
				publisher?.kick();
				log.warn("factory reset: the phones, the Wi-Fi network and any invitation are erased; the factory identity is kept");
				onboarding.reset();
			}
			catch (error) {
				log.error(`factory reset: ${(error as Error).message}`);
			}
		},
	});
	show("connecting", updateStatus(flash));
	client.start();
}

boot().catch((error: Error) => {
	log.error(`boot failed: ${error.message}`);
	show("fault", { reason: error.message });
});
