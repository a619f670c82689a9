/**
 * The shared audio tiers behind the SharedAudio port (src/core/ports/shared-audio.ts). The
 * composition root picks one (src/app/shared-audio-tier.ts) and hands it to the BullMQ classes.
 */
export { RedisSharedAudio, redisAudioKey, type RedisSharedAudioOptions } from './redis-shared-audio.js'
export { SharedDirAudio, type SharedDirAudioOptions } from './shared-dir-audio.js'
