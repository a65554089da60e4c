// A TypeScript rank program: runs through tsx with no build step.
const rank: number = Number(process.env.ORCHID_RANK);
interface Greeting { rank: number; size: string | undefined }
const g: Greeting = { rank, size: process.env.ORCHID_SIZE };
console.log(`ts rank ${g.rank} of ${g.size}`);
