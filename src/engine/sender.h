/* sender.h — the outbox runner on the engine loop (R15, R26); see sender.c. */
#ifndef MF_SENDER_H
#define MF_SENDER_H
#include "util/error.h"

typedef struct sender_loop sender_loop;
struct engine;

/* Messages left "sending" by a crash become "unknown" (R26); called once before the loop starts. */
void sender_recover(struct engine *e);
/* On the engine thread: send what is due every second. */
sender_loop *sender_start(struct engine *e, mf_error *err);
void sender_wake(sender_loop *s);
void sender_free(sender_loop **s);
#endif
