export * from './subjects.ts';
export * from './headers.ts';
export * from './audio-chunk.ts';
export * from './events.ts';
