/* Two threads each add 1 to their own counter 1,000 times, with no lock.
   Built plain, the two counters share a 64-byte line (false sharing); built
   with -DPAD, 120 bytes apart on lines of their own. Prints both addresses,
   then both final values. */
#include <pthread.h>
#include <stdio.h>

#ifdef PAD
struct slots { volatile long a; char pad[120]; volatile long b; } __attribute__((aligned(64)));
#else
struct slots { volatile long a; volatile long b; } __attribute__((aligned(64)));
#endif

static struct slots s;

static void *work_a(void *x) { (void)x; for (int i = 0; i < 1000; i++) s.a++; return 0; }
static void *work_b(void *x) { (void)x; for (int i = 0; i < 1000; i++) s.b++; return 0; }

int main(void) {
    pthread_t a, b;
    printf("%p %p\n", (void *)&s.a, (void *)&s.b);
    pthread_create(&a, 0, work_a, 0);
    pthread_create(&b, 0, work_b, 0);
    pthread_join(a, 0);
    pthread_join(b, 0);
    printf("%ld %ld\n", s.a, s.b);
    return 0;
}
