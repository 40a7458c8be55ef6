// Types of bin/build-state.js for the TypeScript that asks it (bench/support/hosted.ts).
export declare const SOURCE_DIRS: string[];
export declare function sourceState(root: string, since: number): { entries: number; newer: boolean };
export declare function distIsCurrent(root: string): boolean;
