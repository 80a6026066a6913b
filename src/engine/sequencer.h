/* sequencer.h — the sequence scheduler on the engine loop (R18, R19, R23, R25, R26); see
 * sequencer.c. */
#ifndef MF_SEQUENCER_H
#define MF_SEQUENCER_H
typedef struct sequencer sequencer;
struct engine;
sequencer *sequencer_start(struct engine *e);
void sequencer_wake(sequencer *q);
void sequencer_free(sequencer **q);
#endif
