//! Synthetic benchmark functions with known optima: Branin, Hartmann, Rosenbrock, Ackley, Levy, Styblinski-Tang, Rastrigin, Griewank, ZDT1-3.
