/* All-reduce of a gradient-sized float buffer, in place, in calls of at most BUCKET floats:
 * median wall time over REPEATS. Usage: allreduce FLOATS BUCKET REPEATS */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }
int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    long n = atol(argv[1]), bucket = atol(argv[2]); int repeats = atoi(argv[3]), rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank); MPI_Comm_size(MPI_COMM_WORLD, &size);
    float *x = malloc(n * sizeof(float)); double *t = malloc(repeats * sizeof(double));
    for (long i = 0; i < n; i++) x[i] = 1e-3f * (float)(i % 1000);
    for (int r = 0; r < repeats; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        for (long s = 0; s < n; s += bucket) {
            long c = n - s < bucket ? n - s : bucket;
            MPI_Allreduce(MPI_IN_PLACE, x + s, (int)c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        }
        t[r] = MPI_Wtime() - start;
    }
    qsort(t, repeats, sizeof(double), cmp);
    if (rank == 0) printf("%d ranks, %ld floats (%.1f MiB) in calls of %ld: median %.1f ms, min %.1f ms\n", size, n,
                          n * 4.0 / 1048576, bucket, 1e3 * t[repeats / 2], 1e3 * t[0]);
    MPI_Finalize();
    return 0;
}
