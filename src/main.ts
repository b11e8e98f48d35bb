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
import { loadOrCreateIdentity } from "device/identity";
import { loadOrCreateKeys, openRecords } from "device/keys";
import { clientCertificateSector, factoryHandler, loadOrCreateTlsKey } from "device/tls-identity";
import { loadRecipients } from "device/recipients";
import { factoryLineHandler } from "onboarding/factory-line";
import { serveOnboarding } from "onboarding/service";
import { log } from "device/log";
import Counter from "store/counter";
import { flashRegion } from "store/flash-region";
import type { FlashRegion } from "store/flash-region";
import { FlashOutbox } from "store/flash-outbox";
import { clientKey, firstConfiguration } from "device/interim";
import { onLocalLink, onPairingRequest } from "hardware/provisioning";
import { refuseLink } from "onboarding/exchange";
import { now, synchronize } from "hardware/clock";
import { loadTimeFloor } from "device/time";
import { pemBlocks, utf8Decode, utf8Encode } from "util/bytes";
import { readRecord } from "store/record";
import { Sectors } from "store/layout";
import { show } from "hardware/status";
import resource from "hardware/resource";
import { installFactoryRoot, onOutcome, selfTest, serveUpdates, updateStatus } from "update/ota";
import { onBundle, report } from "hardware/ota";
import { BundleAssembler, updateTopic } from "update/delivery";

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
	let recipients = loadRecipients();
	let provisionedBy: (configuration: Configuration) => void = () => {};
	const provisioned = new Promise<Configuration>((resolve) => (provisionedBy = resolve));
	// The factory line (UART0 on the device) takes the factory's requests only; phones are admitted on the onboarding link.
	onPairingRequest(factoryLineHandler({
		flash, identity, keys,
		factory: factoryHandler(flash, identity, keys, (root) => installFactoryRoot(flash, root), (configuration) => provisionedBy(configuration)),
		log: (level, line) => log[level](line),
	}));
	// Onboarding needs the keys, not the configuration: a device can be set up in its box.
	const onboarding = serveOnboarding({
		identity, keys, now,
		onAdmitted: (phones) => (recipients = phones),
		// The audit log's hook (issue 12 item 6): src/audit records these once it lands.
		audit: (entry) => log.info(`audit: ${JSON.stringify(entry)}`),
		log: (line) => log.info(line),
	});
	if (!recipients.length)
		log.warn("no phone is paired: events cannot be sealed until one is");
	const configuration = await configure(flash, provisioned);

	const tls = tlsOptions(flash, configuration);
	const outbox = new FlashOutbox(flashRegion(new Flash(outboxPartition)));
	if (outbox.length)
		log.info(`${outbox.length} events from before the restart are waiting to be published`);
	let publisher: Publisher | undefined = undefined;
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
			client.subscribe([{ filter: updateTopic(identity.topicId), qos: 1 }]);
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
		},
	});
	publisher = new Publisher(client, outbox, (event) => {
		log.info(`published ${event.kind} event ${event.eventId}`);
		show("online", { published: event.eventId });
	});
	const doorbell = new Doorbell({
		identity,
		configuration,
		capture: new Capture(configuration.burst),
		detection: new Detection({ model: faceModel, load: resource, zones: configuration.privacyZones, enabled: configuration.faceDetection }),
		sealer: endToEndSealer(keys.signer, () => recipients),
		sequence,
		outbox,
		publisher,
	});
	// Every update outcome reaches the owner sealed, like any event.
	onOutcome((outcome) => doorbell.recordNow("update", outcome));
	new Triggers({
		onTrigger(kind) {
			// The button also opens the commissioning window of a device nobody owns yet.
			if (kind === "ring")
				onboarding.buttonPressed();
			doorbell.trigger(kind);
		},
	});
	show("connecting", updateStatus(flash));
	client.start();
}

boot().catch((error: Error) => {
	log.error(`boot failed: ${error.message}`);
	show("fault", { reason: error.message });
});
